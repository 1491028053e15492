"""The Kafka consumer: events in batches (whatever has arrived, up to
`projector.batch_max_records`), offsets committed only after the events' effects are
stored.

- The consumer long-polls: a fetch returns as soon as records arrive, and an idle
  consumer wakes up only every `projector.idle_poll_ms` (or once, COMMIT_EVERY_SECONDS
  after its last batch, to commit it).

- A batch is projected with bulk reads and writes (`Projector.handle_batch`). If that
  fails, the batch is gone through again one event at a time, so that a single poison
  event can be told from the rest.
- A transient failure (read store, event store or Redis down, a gap the event store
  cannot fill yet, a document that keeps changing) is retried with backoff, then every
  partition is rewound to its first event not yet stored: nothing after it is skipped.
- Offsets are committed at most every COMMIT_EVERY_SECONDS (one broker round trip for
  many events), per partition up to the last event stored; after a crash the uncommitted
  tail is delivered again and skipped by version.
- Any other failure (a poison event) is retried a bounded number of times, then the
  event goes to the dead-letter topic with the error and the partition moves on."""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import ConsumerStoppedError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind
from pydantic import ValidationError
from pymongo.errors import PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_contracts.topics import HEADER_TRACEPARENT
from cqrs_http.telemetry import start_span_under, traceparent_of
from projector.adapters.dead_letters import dlq_headers
from projector.application.projector import (
    ConflictRetriesExhaustedError,
    MissingHistoryError,
    Projector,
)

log = logging.getLogger("projector.consumer")
COMMIT_EVERY_SECONDS = 0.1
KAFKA_ERROR_PAUSE_SECONDS = 5.0
# how long the broker holds a fetch while there is nothing new (it answers at once when
# records arrive): an idle consumer then makes one fetch per this, not two a second
FETCH_WAIT_MS = 2000
STOP_SECONDS = 5.0  # a batch under way at shutdown gets this long to be stored

TRANSIENT = (
    PyMongoError,
    OperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    MissingHistoryError,
    ConflictRetriesExhaustedError,
    ConnectionError,
    TimeoutError,
)

Record: TypeAlias = ConsumerRecord[Any, Any]


def _now_ms() -> float:
    return time.time() * 1000


def recording() -> bool:
    """Are spans recorded (a tracer provider is installed)? Without one a span would be
    a no-op that costs CPU per event, and only the incoming traceparent travels on."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


@dataclass
class PartitionState:
    """What the consumer last stored from one partition, and how far behind it is."""

    offset: int = -1  # last offset whose effects are stored
    high_water: int = 0  # the partition's end offset when it was last fetched
    position: int = 0  # the event store position of the last event stored

    @property
    def lag(self) -> int:
        return max(self.high_water - self.offset - 1, 0)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: "EventConsumer") -> None:
        self._owner = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))
        await self._owner.commit_stored()  # what is stored stays stored for the next owner

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


class EventConsumer:
    """The projections' consumer group: one aiokafka consumer, long-polled (`getmany`
    returns as soon as records arrive; an idle topic wakes it every
    `projector.idle_poll_ms`), offsets of stored effects committed explicitly."""

    def __init__(self, broker: KafkaBroker, projector: Projector, settings: Settings) -> None:
        self._broker = broker  # the dead-letter producer
        self._projector = projector
        self._settings = settings
        self.processed = 0
        self.dead_lettered = 0
        self.batches = 0
        self.first_batch_at: datetime | None = None  # when the first batch arrived
        self.last_stored_at: datetime | None = None  # when the last batch was stored
        self.partitions: dict[int, PartitionState] = {}
        self._uncommitted: set[int] = set()  # partitions stored past their last commit
        self._stored_records = 0  # records stored since the last commit
        self._committed_at = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False

    @property
    def running(self) -> bool:
        """Its loop is alive (started and not ended): what liveness asks."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        kafka = self._settings.kafka
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap,
            group_id=kafka.group_id,
            client_id="projector",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        consumer.subscribe([kafka.topic], listener=_Rebalance(self))
        await consumer.start()
        self._consumer, self._running = consumer, True
        self._task = asyncio.create_task(self._run(consumer), name="projector-consumer")

    async def stop(self) -> None:
        """Let the batch under way finish (bounded), commit what is stored, leave the group."""
        self._running = False
        if self._task is not None:
            _, stuck = await asyncio.wait({self._task}, timeout=STOP_SECONDS)
            for task in stuck:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self.commit_stored()
            await self._consumer.stop()
            self._consumer = None

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        cfg = self._settings.projector
        while self._running:
            # with stored offsets not committed yet, wake up in time to commit them
            wait_ms = int(COMMIT_EVERY_SECONDS * 1000) if self._uncommitted else cfg.idle_poll_ms
            try:
                fetched = await consumer.getmany(
                    timeout_ms=wait_ms, max_records=cfg.batch_max_records
                )
            except ConsumerStoppedError:
                return
            except KafkaError:
                log.exception("Kafka error while fetching; pausing")
                await asyncio.sleep(KAFKA_ERROR_PAUSE_SECONDS)
                continue
            records = tuple(chain.from_iterable(fetched.values()))
            if records:
                try:
                    await self.on_batch(records, consumer)
                except Exception:
                    # not stored: fetch it again (nothing after it is skipped)
                    log.exception("batch of %d not stored; fetching it again", len(records))
                    self._rewind(consumer, list(records))
                    await asyncio.sleep(cfg.retry_backoff)
            due = time.monotonic() - self._committed_at >= COMMIT_EVERY_SECONDS
            if self._uncommitted and (due or not records or self._stored_records >= 1000):
                await self.commit_stored()

    async def commit_stored(self) -> None:
        """Commit, per partition, the offset after the last one whose effects are stored."""
        consumer = self._consumer
        if consumer is None or not self._uncommitted:
            return
        topic = self._settings.kafka.topic
        assigned = consumer.assignment()
        offsets = {}
        for partition in sorted(self._uncommitted):
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                offsets[tp] = OffsetAndMetadata(self.partitions[partition].offset + 1, "")
        self._uncommitted.clear()
        self._stored_records = 0
        self._committed_at = time.monotonic()
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError:
            # a rebalance took the partitions: their new owner redelivers from the last
            # commit and skips what is stored by version
            log.warning("offset commit failed; the events will be redelivered", exc_info=True)

    async def on_batch(self, records: tuple[Record, ...], consumer: AIOKafkaConsumer) -> None:
        received = _now_ms()
        self.first_batch_at = self.first_batch_at or datetime.now(UTC)
        envelopes: list[tuple[Record, EventEnvelope]] = []
        for record in records:
            try:
                envelopes.append((record, EventEnvelope.model_validate_json(record.value)))
            except ValidationError as bad:
                await self._dead_letter(record, f"not an event envelope: {bad}")
        spans, envelopes = self._traced(envelopes)
        kafka_at = {e.event_id: float(r.timestamp) for r, e in envelopes}
        try:
            await self._projector.handle_batch(
                [e for _, e in envelopes], kafka_at=kafka_at, received_at=received
            )
        except Exception:
            log.warning("batch of %d failed; one event at a time", len(envelopes), exc_info=True)
            if not await self._one_by_one(envelopes, consumer, received):
                return
        finally:
            for span in spans:
                span.end()
        self.processed += len(envelopes)
        self.batches += 1
        self.last_stored_at = datetime.now(UTC)
        self._stored(consumer, records, envelopes)

    def _traced(
        self, envelopes: list[tuple[Record, EventEnvelope]]
    ) -> tuple[list[Span], list[tuple[Record, EventEnvelope]]]:
        """A consumer span per event, under the trace its Kafka message carries; the
        envelope carries the span on, into the change notifications. Spans only when
        they are recorded: otherwise the incoming traceparent alone is carried on."""
        if not self._settings.telemetry.enabled:
            return [], envelopes
        record_spans = recording()
        spans, traced = [], []
        for record, received in envelopes:
            parent = received.metadata.traceparent
            for key, value in record.headers or ():
                if key == HEADER_TRACEPARENT and value:
                    parent = value.decode()
            traceparent = parent
            if record_spans:
                span = start_span_under("projector.project", parent, SpanKind.CONSUMER)
                span.set_attribute("cqrs.event_type", received.type)
                span.set_attribute("cqrs.stream_id", received.stream_id)
                traceparent = traceparent_of(span)
                spans.append(span)
            envelope = received
            if traceparent and traceparent != received.metadata.traceparent:
                metadata = received.metadata.model_copy(update={"traceparent": traceparent})
                envelope = received.model_copy(update={"metadata": metadata})
            traced.append((record, envelope))
        return spans, traced

    async def _one_by_one(
        self,
        envelopes: list[tuple[Record, EventEnvelope]],
        consumer: AIOKafkaConsumer,
        received: float,
    ) -> bool:
        """Each event with retries; False when a transient failure rewound the partitions."""
        for index, (record, envelope) in enumerate(envelopes):
            try:
                await self._process(record, envelope, received)
            except TRANSIENT:
                self._rewind(consumer, [r for r, _ in envelopes[index:]])
                return False
        return True

    async def _process(self, record: Record, envelope: EventEnvelope, received: float) -> None:
        cfg = self._settings.projector
        for attempt in range(1, cfg.max_retries + 1):
            try:
                await self._projector.handle(
                    envelope, kafka_at=float(record.timestamp), received_at=received
                )
            except TRANSIENT:
                if attempt == cfg.max_retries:
                    log.warning("transient failure on %s; rewinding", envelope.event_id)
                    await asyncio.sleep(cfg.retry_backoff * 2**attempt)
                    raise
            except Exception as error:
                if attempt == cfg.max_retries:
                    log.exception("poison event %s; dead-lettering", envelope.event_id)
                    await self._dead_letter(record, f"{type(error).__name__}: {error}")
                    return
            else:
                return
            await asyncio.sleep(cfg.retry_backoff * 2 ** (attempt - 1))

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, pending: list[Record]) -> None:
        """Seek every partition back to its first event that is not stored yet."""
        earliest: dict[TopicPartition, int] = {}
        for record in pending:
            tp = TopicPartition(record.topic, record.partition)
            earliest[tp] = min(earliest.get(tp, record.offset), record.offset)
        for tp, offset in earliest.items():
            with contextlib.suppress(KafkaError):  # not ours any more: its owner goes on
                consumer.seek(tp, offset)

    def _stored(
        self,
        consumer: AIOKafkaConsumer,
        records: tuple[Record, ...],
        envelopes: list[tuple[Record, EventEnvelope]],
    ) -> None:
        for record in records:
            state = self.partitions.setdefault(record.partition, PartitionState())
            state.offset = max(state.offset, record.offset)
            self._uncommitted.add(record.partition)
        self._stored_records += len(records)
        for record, envelope in envelopes:
            state = self.partitions[record.partition]
            state.position = max(state.position, envelope.position or 0)
        topic = self._settings.kafka.topic
        for partition, state in self.partitions.items():
            found = consumer.highwater(TopicPartition(topic, partition))
            state.high_water = found if found is not None else state.high_water

    async def _dead_letter(self, record: Record, error: str) -> None:
        source = f"{record.topic}:{record.partition}:{record.offset}"
        headers = {
            k: v.decode(errors="replace") for k, v in (record.headers or ()) if isinstance(v, bytes)
        }
        await self._broker.publish(
            record.value,
            self._settings.kafka.dlq_topic,
            key=record.key,
            headers=dlq_headers(headers, error, source),
        )
        self.dead_lettered += 1
