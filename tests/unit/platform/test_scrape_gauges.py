"""ScrapeGauge: a source is asked at scrape time, within its time bound, at most once per
`max_age` (concurrent scrapes share one ask), the latest app's source is the one asked,
and a failing or slow source leaves the gauge without samples instead of a stale value."""

import asyncio

from prometheus_client import CollectorRegistry, generate_latest

from cqrs_http.scrape_gauges import Samples, ScrapeGauge


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    def __init__(self, value: float, pause: float = 0.0) -> None:
        self.value, self.pause, self.asked = value, pause, 0

    async def __call__(self) -> Samples:
        self.asked += 1
        await asyncio.sleep(self.pause)
        return {("0",): self.value}


def gauge(clock: Clock, timeout: float = 1.0) -> ScrapeGauge:
    return ScrapeGauge(
        "cqrs_test_lag", "a test gauge", ("partition",), timeout=timeout, clock=clock
    )


def rendered(g: ScrapeGauge) -> str:
    registry = CollectorRegistry()
    registry.register(g)
    return generate_latest(registry).decode()


async def test_asks_once_per_max_age_and_renders_the_answer() -> None:
    clock, source = Clock(), Source(7)
    g = gauge(clock)
    g.use(source)
    await g.refresh()
    await g.refresh()
    assert source.asked == 1
    assert 'cqrs_test_lag{partition="0"} 7.0' in rendered(g)
    clock.now += 1.5
    source.value = 9
    await g.refresh()
    assert source.asked == 2
    assert 'cqrs_test_lag{partition="0"} 9.0' in rendered(g)


async def test_concurrent_scrapes_share_one_ask() -> None:
    source = Source(1, pause=0.01)
    g = gauge(Clock())
    g.use(source)
    await asyncio.gather(*(g.refresh() for _ in range(5)))
    assert source.asked == 1


async def test_a_slow_or_failing_source_leaves_no_samples() -> None:
    clock = Clock()
    g = gauge(clock, timeout=0.01)
    fast = Source(3)
    g.use(fast)
    await g.refresh()
    assert "partition=" in rendered(g)
    clock.now += 2
    g.leave(fast)  # the app stopped

    slow = Source(5, pause=1.0)
    g.use(slow)
    await g.refresh()
    assert "partition=" not in rendered(g)
    assert g.failures == 1

    async def broken() -> Samples:
        raise ConnectionError("down")

    g.use(broken)
    clock.now += 2
    await g.refresh()
    assert g.failures == 2
    assert "partition=" not in rendered(g)


async def test_the_latest_source_is_asked_and_the_one_before_it_once_it_leaves() -> None:
    clock, first, second = Clock(), Source(1), Source(2)
    g = gauge(clock)
    g.use(first)
    g.use(second)
    await g.refresh()
    assert (first.asked, second.asked) == (0, 1)
    g.leave(second)
    await g.refresh()  # leaving forgets the answer: asked again at once
    assert first.asked == 1
    assert 'cqrs_test_lag{partition="0"} 1.0' in rendered(g)
    g.leave(first)
    await g.refresh()
    assert "partition=" not in rendered(g)


async def test_a_scrape_on_another_loop_does_not_ask_the_source() -> None:
    source = Source(4)
    g = gauge(Clock())
    g.use(source)  # on this test's loop
    await asyncio.to_thread(asyncio.run, g.refresh())  # another app's loop, in a thread
    assert source.asked == 0
    await g.refresh()
    assert source.asked == 1


def test_named_registers_one_gauge_per_name() -> None:
    a = ScrapeGauge.named("cqrs_test_named_once", "once")
    assert ScrapeGauge.named("cqrs_test_named_once", "once") is a
