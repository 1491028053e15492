"""The one polling helper: it returns the first accepted answer, fails at its deadline
naming what it waited for, and waits without blocking the event loop."""

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from tests.support.polling import eventually


def counting(*answers: int) -> tuple[Callable[[], Awaitable[int]], list[int]]:
    """A probe answering `answers` in turn (then the last one forever), and its call count."""
    calls = itertools.count(1)
    seen: list[int] = []

    async def probe() -> int:
        seen.append(next(calls))
        return answers[min(len(seen), len(answers)) - 1]

    return probe, seen


async def test_it_returns_the_first_truthy_answer() -> None:
    probe, seen = counting(0, 0, 7, 9)

    assert await eventually(probe, timeout=10, interval=0, what="a number") == 7
    assert seen == [1, 2, 3]


async def test_accept_decides_which_answer_is_taken() -> None:
    probe, _ = counting(1, 2, 3, 4)

    assert await eventually(probe, timeout=10, interval=0, what="4", accept=lambda n: n > 3) == 4


async def test_at_its_deadline_it_raises_naming_what_and_the_last_answer() -> None:
    probe, seen = counting(0, 0, 5)

    with pytest.raises(AssertionError) as failure:
        await eventually(
            probe, timeout=0.2, interval=0.01, what="the outbox to empty", accept=lambda n: n > 5
        )

    assert "waiting for the outbox to empty" in str(failure.value)
    assert "last answer: 5" in str(failure.value)
    assert len(seen) > 3  # it kept asking until the deadline


async def test_it_waits_without_blocking_the_loop() -> None:
    """What the probe waits for is done by another task on the same loop: a blocking wait
    (time.sleep) would never let it run."""
    done = asyncio.Event()

    async def later() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        done.set()

    async def finished() -> bool:
        return done.is_set()

    task = asyncio.create_task(later())
    assert await eventually(finished, timeout=10, interval=0.001, what="the other task") is True
    await task


async def test_ignored_exceptions_mean_not_yet_and_the_last_is_the_cause() -> None:
    attempts: list[int] = []

    async def refused() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("not up yet")
        return len(attempts)

    assert await eventually(refused, timeout=10, interval=0, what="up", ignoring=(OSError,)) == 3

    async def never() -> int:
        raise ConnectionRefusedError("still down")

    with pytest.raises(AssertionError) as failure:
        await eventually(never, timeout=0.1, interval=0.01, what="up", ignoring=(OSError,))
    assert "last exception: ConnectionRefusedError('still down')" in str(failure.value)
    assert isinstance(failure.value.__cause__, ConnectionRefusedError)


async def test_other_exceptions_propagate_at_once() -> None:
    async def broken() -> int:
        raise KeyError("projections")

    with pytest.raises(KeyError):
        await eventually(broken, timeout=10, what="a status", ignoring=(OSError,))


async def test_a_probe_that_hangs_is_cancelled_at_the_deadline() -> None:
    async def hangs() -> int:
        await asyncio.Event().wait()
        return 1

    with pytest.raises(AssertionError, match="probe never answered"):
        await eventually(hangs, timeout=0.1, what="an answer")


async def test_the_probes_own_timeout_is_not_taken_for_the_deadline() -> None:
    async def times_out() -> int:
        raise TimeoutError("the probe's own")

    with pytest.raises(TimeoutError, match="the probe's own"):
        await eventually(times_out, timeout=10, what="an answer")
