"""The projector's Prometheus metrics (README, "Metrics"): events projected by read
model, the latency from an event's `occurred_at` to its read models stored, webhook
deliveries by outcome; and, read at scrape time (`ProjectorGauges`), the group's lag per
partition, the dead letters and a rebuild's progress.

Every labelled child is looked up once (`Children`): a batch costs a dict lookup and an
increment per read model, and one histogram observation per event."""

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Histogram
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import KafkaSettings
from cqrs_http.metrics import Children
from cqrs_http.scrape_gauges import Samples, ScrapeGauge, Source
from projector.adapters.consumer_lag import LagReader
from projector.adapters.rebuild_control import RebuildControl

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

PROJECTED = Children(
    Counter(
        "cqrs_events_projected",
        "Events applied to each read model by the live projector (redeliveries included)",
        ("read_model",),
    )
)
PROJECTION_SECONDS = Histogram(
    "cqrs_projection_latency_seconds",
    "From an event's occurred_at to its read models stored (live projector)",
    buckets=BUCKETS,
)
WEBHOOKS = Children(
    Counter(
        "cqrs_webhook_deliveries",
        "Webhook delivery attempts by outcome (delivered, failed, dead_lettered)",
        ("outcome",),
    )
)
CONSUMER_LAG = ScrapeGauge.named(
    "cqrs_consumer_lag",
    "Events the projector group has not committed, per partition",
    ("partition",),
)
DEAD_LETTERS = ScrapeGauge.named(
    "cqrs_dead_letters",
    "Dead letters held: projection (messages in the dead-letter topic), webhooks (stored)",
    ("source",),
)
REBUILD_RUNNING = ScrapeGauge.named("cqrs_rebuild_running", "1 while a read-model rebuild runs")
REBUILD_PROGRESS = ScrapeGauge.named(
    "cqrs_rebuild_progress_ratio", "Share of the events a running rebuild has replayed (0..1)"
)


def projected(counts: dict[str, int], envelopes: Iterable[EventEnvelope]) -> None:
    """A batch stored: per read model the events applied; each event's latency."""
    for read_model, n in counts.items():
        PROJECTED[read_model].inc(n)
    now = time.time()
    observe = PROJECTION_SECONDS.observe
    for envelope in envelopes:
        observe(max(now - envelope.occurred_at.timestamp(), 0.0))


class ProjectorGauges:
    def __init__(
        self,
        lag: LagReader,
        kafka: KafkaSettings,
        db: AsyncDatabase[dict[str, Any]],
        *,
        webhook_dead_letters: str,
    ) -> None:
        self._lag, self._topic, self._group = lag, kafka.topic, kafka.group_id
        self._dlq, self._db, self._webhook_dlq = kafka.dlq_topic, db, webhook_dead_letters
        self._progress: Samples = {}

    async def consumer_lag(self) -> Samples:
        lags = await self._lag.lags(self._topic, self._group)
        return {(str(p.partition),): float(p.lag) for p in lags}

    async def dead_letters(self) -> Samples:
        projection, webhooks = await asyncio.gather(
            self._lag.size(self._dlq),
            self._db[self._webhook_dlq].estimated_document_count(),
        )
        return {("projection",): float(projection), ("webhooks",): float(webhooks)}

    async def rebuild_running(self) -> Samples:
        progress = await RebuildControl(self._db).progress()
        self._progress = {} if progress is None else {(): progress}
        return {(): 0.0 if progress is None else 1.0}

    async def rebuild_progress(self) -> Samples:
        await REBUILD_RUNNING.refresh()  # the same read, at most once a second
        return self._progress

    def _pairs(self) -> list[tuple[ScrapeGauge, Source]]:
        return [
            (CONSUMER_LAG, self.consumer_lag),
            (DEAD_LETTERS, self.dead_letters),
            (REBUILD_RUNNING, self.rebuild_running),
            (REBUILD_PROGRESS, self.rebuild_progress),
        ]

    def install(self) -> None:
        for gauge, source in self._pairs():
            gauge.use(source)

    def uninstall(self) -> None:
        for gauge, source in self._pairs():
            gauge.leave(source)
