"""Marks each test by its folder and registers the shared fixtures."""

import asyncio
import gc
import sys
import threading

import pytest

pytest_plugins = ["tests.support.fixtures"]
HANG_REPORT_SECONDS = 60
CHAOS_HANG_REPORT_SECONDS = 540  # a chaos scenario runs for minutes by design


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in: unit/, integration/, e2e/, chaos/ or browser/."""
    for item in items:
        for kind in ("unit", "integration", "e2e", "chaos", "browser"):
            if f"/tests/{kind}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A test still running after HANG_REPORT_SECONDS prints every asyncio task's stack,
    so a hang shows where it waits (pytest-timeout alone shows only the main thread)."""
    done = threading.Event()
    seconds = CHAOS_HANG_REPORT_SECONDS if item.get_closest_marker("chaos") else HANG_REPORT_SECONDS

    def report() -> None:
        if done.wait(seconds):
            return
        print(f"\n--- {item.nodeid} still running after {seconds}s ---", file=sys.stderr)
        for obj in gc.get_objects():
            if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed():
                for task in asyncio.all_tasks(obj):
                    task.print_stack(file=sys.stderr)

    threading.Thread(target=report, daemon=True).start()
    try:
        return (yield)
    finally:
        done.set()
