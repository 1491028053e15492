"""Bounded shutdown: every step of stopping a service gets a deadline, so a dependency
that does not answer cannot keep a process (or a rolling deploy) from ending.

A step past its deadline is cancelled and left behind, not waited on: a coroutine may
take as long as it likes to unwind from a cancellation (closing a connection to a
server that never answers, say), and `asyncio.wait_for` would wait for that too."""

import asyncio
import logging
from collections.abc import Awaitable, Iterable

log = logging.getLogger("cqrs_http.shutdown")
STEP_SECONDS = 10.0


async def stop_tasks(tasks: Iterable["asyncio.Task[object]"]) -> None:
    """Cancel the tasks; wait at most STEP_SECONDS for them to finish."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=STEP_SECONDS)
    for task in stuck:
        log.warning("task %s did not stop within %ss; left behind", task.get_name(), STEP_SECONDS)


async def bounded(*steps: tuple[str, Awaitable[object]]) -> None:
    """Run each (name, awaitable) in turn, each within STEP_SECONDS; failures are logged."""
    for name, step in steps:
        task = asyncio.ensure_future(step)
        done, _ = await asyncio.wait({task}, timeout=STEP_SECONDS)
        if not done:
            task.cancel()
            log.warning("shutdown step %s took over %ss; moving on", name, STEP_SECONDS)
        elif not task.cancelled() and task.exception() is not None:
            log.warning("shutdown step %s failed", name, exc_info=task.exception())
