"""The Kafka subscriber: events in batches (whatever has arrived, up to
`projector.batch_max_records`; one event when the topic is idle), offsets committed
only after the events' effects are stored.

- A batch is projected with bulk reads and writes (`Projector.handle_batch`). If that
  fails, the batch is gone through again one event at a time, so that a single poison
  event can be told from the rest.
- A transient failure (read store, event store or Redis down, a gap the event store
  cannot fill yet, a document that keeps changing) is retried with backoff, then every
  partition is rewound to its first event not yet stored: nothing after it is skipped.
- Offsets are committed at most every COMMIT_EVERY_SECONDS (one broker round trip for
  many events); after a crash the uncommitted tail is delivered again and skipped by
  version.
- Any other failure (a poison event) is retried a bounded number of times, then the
  event goes to the dead-letter topic with the error and the partition moves on."""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
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


@dataclass
class PartitionState:
    """What the consumer last stored from one partition, and how far behind it is."""

    offset: int = -1  # last offset whose effects are stored
    high_water: int = 0  # the partition's end offset when it was last fetched
    position: int = 0  # the event store position of the last event stored

    @property
    def lag(self) -> int:
        return max(self.high_water - self.offset - 1, 0)


class EventConsumer:
    def __init__(self, broker: KafkaBroker, projector: Projector, settings: Settings) -> None:
        self._broker = broker
        self._projector = projector
        self._settings = settings
        self.processed = 0
        self.dead_lettered = 0
        self.batches = 0
        self.first_batch_at: datetime | None = None  # when the first batch arrived
        self.last_stored_at: datetime | None = None  # when the last batch was stored
        self.partitions: dict[int, PartitionState] = {}
        self._uncommitted = 0
        self._committed_at = time.monotonic()
        cfg = settings.projector
        broker.subscriber(
            settings.kafka.topic,
            group_id=settings.kafka.group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            batch=True,
            max_records=cfg.batch_max_records,
            batch_timeout_ms=cfg.batch_wait_ms,
            title="cqrs-events",
            description="Every stored event (EventEnvelope JSON), keyed by stream id.",
        )(self.on_batch)

    async def on_batch(self, msg: KafkaMessage) -> None:
        self.first_batch_at = self.first_batch_at or datetime.now(UTC)
        raw: Any = msg.raw_message
        records: tuple[ConsumerRecord[Any, Any], ...] = raw if isinstance(raw, tuple) else (raw,)
        envelopes: list[tuple[ConsumerRecord[Any, Any], EventEnvelope]] = []
        for record in records:
            try:
                envelopes.append((record, EventEnvelope.model_validate_json(record.value)))
            except ValidationError as bad:
                await self._dead_letter(record, f"not an event envelope: {bad}")
        spans, envelopes = self._traced(envelopes)
        try:
            await self._projector.handle_batch([e for _, e in envelopes])
        except Exception:
            log.warning("batch of %d failed; one event at a time", len(envelopes), exc_info=True)
            if not await self._one_by_one(envelopes, msg):
                return
        finally:
            for span in spans:
                span.end()
        self.processed += len(envelopes)
        self.batches += 1
        self.last_stored_at = datetime.now(UTC)
        self._stored(msg, records, envelopes)
        self._uncommitted += len(records)
        now = time.monotonic()
        if now - self._committed_at >= COMMIT_EVERY_SECONDS or self._uncommitted >= 1000:
            await msg.ack()  # commits every partition's position: all of it is stored
            self._committed_at, self._uncommitted = now, 0

    def _traced(
        self, envelopes: list[tuple[ConsumerRecord[Any, Any], EventEnvelope]]
    ) -> tuple[list[Span], list[tuple[ConsumerRecord[Any, Any], EventEnvelope]]]:
        """A consumer span per event, under the trace its Kafka message carries; the
        envelope carries the span on, into the change notifications."""
        if not self._settings.telemetry.enabled:
            return [], envelopes
        spans, traced = [], []
        for record, received in envelopes:
            headers = dict(record.headers or ())
            parent = headers.get(HEADER_TRACEPARENT, b"").decode() or received.metadata.traceparent
            span = start_span_under("projector.project", parent, SpanKind.CONSUMER)
            span.set_attribute("cqrs.event_type", received.type)
            span.set_attribute("cqrs.stream_id", received.stream_id)
            traceparent = traceparent_of(span)
            envelope = received
            if traceparent and traceparent != received.metadata.traceparent:
                metadata = received.metadata.model_copy(update={"traceparent": traceparent})
                envelope = received.model_copy(update={"metadata": metadata})
            spans.append(span)
            traced.append((record, envelope))
        return spans, traced

    async def _one_by_one(
        self, envelopes: list[tuple[ConsumerRecord[Any, Any], EventEnvelope]], msg: KafkaMessage
    ) -> bool:
        """Each event with retries; False when a transient failure rewound the partitions."""
        for index, (record, envelope) in enumerate(envelopes):
            try:
                await self._process(record, envelope)
            except TRANSIENT:
                self._rewind(msg, [r for r, _ in envelopes[index:]])
                return False
        return True

    async def _process(self, record: ConsumerRecord[Any, Any], envelope: EventEnvelope) -> None:
        cfg = self._settings.projector
        for attempt in range(1, cfg.max_retries + 1):
            try:
                await self._projector.handle(envelope)
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

    def _rewind(self, msg: KafkaMessage, pending: list[ConsumerRecord[Any, Any]]) -> None:
        """Seek every partition back to its first event that is not stored yet."""
        earliest: dict[TopicPartition, int] = {}
        for record in pending:
            tp = TopicPartition(record.topic, record.partition)
            earliest[tp] = min(earliest.get(tp, record.offset), record.offset)
        for tp, offset in earliest.items():
            msg.consumer.seek(tp, offset)

    def _stored(
        self,
        msg: KafkaMessage,
        records: tuple[ConsumerRecord[Any, Any], ...],
        envelopes: list[tuple[ConsumerRecord[Any, Any], EventEnvelope]],
    ) -> None:
        for record in records:
            state = self.partitions.setdefault(record.partition, PartitionState())
            state.offset = max(state.offset, record.offset)
        for record, envelope in envelopes:
            state = self.partitions[record.partition]
            state.position = max(state.position, envelope.position or 0)
        high_water = getattr(msg.consumer, "highwater", None)
        if high_water is None:
            return
        for partition, state in self.partitions.items():
            found = high_water(TopicPartition(self._settings.kafka.topic, partition))
            state.high_water = found if found is not None else state.high_water

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], error: str) -> None:
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
