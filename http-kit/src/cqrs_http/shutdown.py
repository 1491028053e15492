"""Bounded shutdown: every step of stopping a service gets a deadline, so a dependency
that does not answer cannot keep a process (or a rolling deploy) from ending."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable

log = logging.getLogger("cqrs_http.shutdown")
STEP_SECONDS = 10.0


async def stop_tasks(tasks: Iterable["asyncio.Task[object]"]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
            await asyncio.wait_for(task, STEP_SECONDS)


async def bounded(*steps: tuple[str, Awaitable[object]]) -> None:
    """Run each (name, awaitable) in turn, each within STEP_SECONDS; failures are logged."""
    for name, step in steps:
        try:
            await asyncio.wait_for(step, STEP_SECONDS)
        except TimeoutError:
            log.warning("shutdown step %s took over %ss; moving on", name, STEP_SECONDS)
        except Exception:
            log.warning("shutdown step %s failed", name, exc_info=True)
