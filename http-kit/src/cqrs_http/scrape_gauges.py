"""Gauges whose value needs I/O (a row count, a broker's offsets): asked at scrape time,
not on any request or event, within a time bound, and kept for `max_age` seconds so
scrapes close together (two Prometheis, a dashboard) ask once.

`ScrapeGauge.named(...)` gives the one gauge of a name in the process (prometheus_client
refuses a name twice in its registry: a process with several apps, such as a test run,
shares it); `use(source)` points it at an app's source (the latest app's is asked) and
`leave(source)` takes it away when that app stops. The /metrics
endpoint (cqrs_http.metrics.MetricsController) awaits `refresh_all()` before it renders
the registry; `collect()` itself never does I/O (prometheus_client calls it in the
event loop's thread)."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import ClassVar

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("cqrs_http.metrics")

Samples = dict[tuple[str, ...], float]  # label values -> value
Source = Callable[[], Awaitable[Samples]]
SCRAPE_TIMEOUT = 2.0  # seconds one source may take; past it the gauge has no samples
MAX_AGE = 1.0  # seconds a source's answer is reused


class ScrapeGauge(Collector):
    _named: ClassVar[dict[str, "ScrapeGauge"]] = {}

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...] = (),
        *,
        timeout: float = SCRAPE_TIMEOUT,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.timeout, self.max_age, self._clock = timeout, max_age, clock
        self._sources: list[tuple[Source, asyncio.AbstractEventLoop | None]] = []
        self._samples: Samples = {}
        self._asked_at = -float("inf")
        self._asking: asyncio.Future[None] | None = None
        self.failures = 0  # sources that failed or timed out

    @classmethod
    def named(cls, name: str, documentation: str, labels: tuple[str, ...] = ()) -> "ScrapeGauge":
        """The process's gauge of this name, registered in the default registry once."""
        gauge = cls._named.get(name)
        if gauge is None:
            gauge = cls._named[name] = cls(name, documentation, labels)
            REGISTRY.register(gauge)
        return gauge

    def use(self, source: Source) -> None:
        """Ask `source` from now on (until it leaves), on the event loop it was given on
        (its clients' loop: a scrape served on another loop, as by another app of a test
        process in a thread, renders what was last read instead)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._sources.append((source, loop))
        self._forget()

    def leave(self, source: Source) -> None:
        """`source` is going away (its app stops): ask the one before it, if any."""
        # == : a bound method is a new object each time
        kept = [(s, loop) for s, loop in self._sources if s != source]
        if len(kept) != len(self._sources):
            self._sources = kept
            self._forget()

    def _forget(self) -> None:
        self._samples, self._asked_at = {}, -float("inf")

    @property
    def _source(self) -> Source | None:
        if not self._sources:
            return None
        source, loop = self._sources[-1]
        return source if loop is None or loop is asyncio.get_running_loop() else None

    async def refresh(self) -> None:
        """Ask the source, unless its answer is fresh; concurrent scrapes share one ask."""
        if self._source is None or self._clock() - self._asked_at < self.max_age:
            return
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask(self._source))
        try:
            await asyncio.shield(self._asking)
        finally:
            if self._asking is not None and self._asking.done():
                self._asking = None

    async def _ask(self, source: Source) -> None:
        try:
            samples = await asyncio.wait_for(source(), self.timeout)
        except Exception:
            self.failures += 1
            log.warning("metric %s: its source failed", self.name, exc_info=True)
            samples = {}  # no stale value: the series is absent while it cannot be read
        if source == self._source:  # not replaced meanwhile
            self._samples, self._asked_at = samples, self._clock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, value in self._samples.items():
            family.add_metric(list(values), value)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, self.documentation, labels=self.labels)


async def refresh_all() -> None:
    """Every scrape gauge of the process, at once."""
    gauges = ScrapeGauge._named.values()
    await asyncio.gather(*(g.refresh() for g in gauges), return_exceptions=True)
