"""A bounded async load generator: a fixed number of calls at a fixed concurrency."""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    calls: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(call: Callable[[int], Awaitable[bool]], total: int, concurrency: int) -> Result:
    """Call `call(i)` for i in range(total), `concurrency` at a time; it returns success."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            ok = await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Result(total, errors, seconds, statistics.median(latencies), percentile(latencies, 0.99))


async def run_for(
    call: Callable[[int], Awaitable[bool]], seconds: float, concurrency: int
) -> Result:
    """Call `call(i)` `concurrency` at a time until `seconds` have passed (then finish the
    calls in flight); the rate counts successes only."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            ok = await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Result(
        len(latencies) - errors,
        errors,
        elapsed,
        statistics.median(latencies) if latencies else 0.0,
        percentile(latencies, 0.99),
    )
