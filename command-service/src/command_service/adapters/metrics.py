"""The command-service's Prometheus metrics (README, "Metrics"): commands by type and
outcome and their latency, events appended by type, idempotent replays, the relay's
published count, and the outbox's backlog and age, read at scrape time.

Every labelled child is looked up once (`Children`): a command costs a dict lookup and an
increment per metric, no lock but prometheus_client's own."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.application.ports import StoredAnswer
from cqrs_event_store import tables as t
from cqrs_http.metrics import Children
from cqrs_http.scrape_gauges import Samples, ScrapeGauge

OTHER = "other"  # the type label of a command type this service does not know
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Children(
    Counter(
        "cqrs_commands",
        "Commands answered, by type and outcome (accepted, rejected, replayed)",
        ("type", "outcome"),
    )
)
COMMAND_SECONDS = Children(
    Histogram(
        "cqrs_command_duration_seconds",
        "Time from a command's arrival to its answer (durable when accepted), by type",
        ("type",),
        buckets=BUCKETS,
    )
)
EVENTS_APPENDED = Children(
    Counter("cqrs_events_appended", "Events appended to the event store, by type", ("type",))
)
REPLAYS = Counter(
    "cqrs_idempotent_replays", "Commands answered with the first answer of their idempotency key"
)
RELAY_PUBLISHED = Counter("cqrs_relay_published", "Outbox rows the relay published to Kafka")
OUTBOX_BACKLOG = ScrapeGauge.named("cqrs_outbox_backlog", "Outbox rows not yet published")
OUTBOX_AGE = ScrapeGauge.named(
    "cqrs_relay_lag_seconds", "Age of the oldest outbox row not yet published (0: none)"
)


def outcome_of(answer: StoredAnswer) -> str:
    if answer.replayed:
        return "replayed"
    return "accepted" if answer.http_status < 300 else "rejected"


def count_command(command_type: str, known: bool, answer: StoredAnswer, seconds: float) -> None:
    """One command answered (`known`: its type is one this service has, else `other`)."""
    label = command_type if known else OTHER
    outcome = outcome_of(answer)
    COMMANDS[label, outcome].inc()
    COMMAND_SECONDS[label].observe(seconds)
    if outcome == "replayed":
        REPLAYS.inc()
    elif outcome == "accepted":
        count_events(answer.body.get("events") or ())


def count_events(events: Any) -> None:
    """Events just appended (as the answer's JSON or envelopes)."""
    for event in events:
        kind = event["type"] if isinstance(event, dict) else event.type
        EVENTS_APPENDED[kind].inc()


class OutboxGauges:
    """The outbox backlog and the relay's lag from one scrape-time read (two indexed
    statements: the count and the oldest row by id)."""

    def __init__(self, engines: Sequence[AsyncEngine]) -> None:
        self._engines = engines  # every shard's: the backlog is their sum, the age their max
        self._age: Samples = {}

    async def backlog(self) -> Samples:
        count, age = 0, 0.0
        for engine in self._engines:
            async with engine.connect() as conn:
                count += int(await conn.scalar(select(func.count()).select_from(t.outbox)) or 0)
                oldest = await conn.scalar(
                    select(t.outbox.c.created_at).order_by(t.outbox.c.id).limit(1)
                )
            if oldest is not None:
                waited = (datetime.now(UTC) - oldest.replace(tzinfo=UTC)).total_seconds()
                age = max(age, waited)
        self._age = {(): age}
        return {(): float(count)}

    async def age(self) -> Samples:
        await OUTBOX_BACKLOG.refresh()  # the same read, at most once a second
        return self._age

    def install(self) -> None:
        OUTBOX_BACKLOG.use(self.backlog)
        OUTBOX_AGE.use(self.age)

    def uninstall(self) -> None:
        OUTBOX_BACKLOG.leave(self.backlog)
        OUTBOX_AGE.leave(self.age)
