"""The projections' consumer: the delivery loop (projector.application.delivery: long
poll, retries, rewind, dead letters, throttled commits of what is stored) on the events
topic, in the projector's group, feeding Projector.

- A batch (whatever has arrived, up to `projector.batch_max_records`) is projected with
  bulk reads and writes (`Projector.handle_batch`); if that fails, one event at a time.
- A message that is not an event envelope is dead-lettered at once.
- Every event is revealed before it is projected (the batch's keys in one lookup); a
  `UserForgotten` one then erases the user's cached copies (projector.application.
  forgetting). The dead letters keep the message as Kafka carried it: sealed.
- Transient: the read store, event store or Redis down, a data key not there yet, a gap
  the event store cannot fill yet, a document that keeps changing. Anything else is a
  poison event, sent to `kafka.dlq_topic` after `projector.max_retries` attempts.
- With telemetry on, a consumer span per event under the trace its message carries."""

import time
from collections.abc import Callable, Sequence
from typing import TypeAlias

from faststream.kafka import KafkaBroker
from opentelemetry.trace import Span, SpanKind
from pydantic import ValidationError
from pymongo.errors import PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import SQLAlchemyError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_contracts.topics import HEADER_TRACEPARENT
from cqrs_event_store.privacy.keyring import MissingDataKeyError
from cqrs_http.telemetry import recording, start_span_under, traceparent_of
from projector.adapters.dead_letters import DeadLetterTopic
from projector.adapters.kafka_consumer import KafkaConsumer
from projector.adapters.metrics import projected
from projector.application.consumer import Message
from projector.application.delivery import Decoded, DeliveryConfig, DeliveryLoop
from projector.application.forgetting import Forgetting
from projector.application.projector import (
    ConflictRetriesExhaustedError,
    MissingHistoryError,
    Projector,
)

TRANSIENT = (
    PyMongoError,
    SQLAlchemyError,  # the event store (gaps, data keys) down or failing
    MissingDataKeyError,
    RedisConnectionError,
    RedisTimeoutError,
    MissingHistoryError,
    ConflictRetriesExhaustedError,
    ConnectionError,
    TimeoutError,
)

Items: TypeAlias = list[tuple[Message, EventEnvelope]]


def traced(items: Items) -> tuple[list[Span], Items]:
    """A consumer span per event, under the trace its Kafka message carries; the envelope
    carries the span on, into the change notifications. Spans only when they are
    recorded (a tracer provider is installed): otherwise the incoming traceparent alone
    is carried on."""
    record_spans = recording()
    spans, out = [], []
    for message, received in items:
        parent = received.metadata.traceparent
        for key, value in message.headers or ():
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
        out.append((message, envelope))
    return spans, out


def _ending(spans: list[Span]) -> Callable[[], None]:
    def end() -> None:
        for span in spans:
            span.end()

    return end


class ProjectionProcessor:
    transient = TRANSIENT

    def __init__(self, projector: Projector, forgetting: Forgetting, telemetry: bool) -> None:
        self._projector = projector
        self._forgetting = forgetting
        self._telemetry = telemetry

    def decode(self, messages: Sequence[Message]) -> Decoded[EventEnvelope]:
        received = time.time() * 1000
        items: Items = []
        rejected = []
        for message in messages:
            try:
                items.append((message, EventEnvelope.model_validate_json(message.value or b"")))
            except ValidationError as bad:
                rejected.append((message, f"not an event envelope: {bad}"))
        spans: list[Span] = []
        if self._telemetry:
            spans, items = traced(items)
        positions: dict[int, int] = {}
        for message, envelope in items:
            if (envelope.position or 0) > positions.get(message.partition, 0):
                positions[message.partition] = envelope.position or 0
        return Decoded(items, rejected, positions, received, _ending(spans) if spans else None)

    async def process_batch(self, batch: Decoded[EventEnvelope]) -> bool:
        kafka_at = {e.event_id: float(m.timestamp) for m, e in batch.items}
        envelopes = await self._forgetting.reveal([e for _, e in batch.items])
        outcome = await self._projector.handle_batch(
            envelopes, kafka_at=kafka_at, received_at=batch.received_at
        )
        await self._forgetting.erase_forgotten(envelopes)
        projected(outcome.projected, envelopes)
        return True

    async def process(
        self, message: Message, item: EventEnvelope, batch: Decoded[EventEnvelope]
    ) -> bool:
        revealed = await self._forgetting.reveal([item])
        outcome = await self._projector.handle(
            revealed[0], kafka_at=float(message.timestamp), received_at=batch.received_at
        )
        await self._forgetting.erase_forgotten(revealed)
        projected(outcome.projected, revealed)
        return False  # committed with the next throttled commit


def delivery_config(settings: Settings) -> DeliveryConfig:
    cfg = settings.projector
    return DeliveryConfig(
        batch_max_records=cfg.batch_max_records,
        idle_poll_ms=cfg.idle_poll_ms,
        max_attempts=max(1, cfg.max_retries),
        backoff=cfg.retry_backoff,
    )


ProjectionConsumer: TypeAlias = DeliveryLoop[EventEnvelope]


def projection_consumer(
    settings: Settings, broker: KafkaBroker, projector: Projector, forgetting: Forgetting
) -> ProjectionConsumer:
    """The projections' delivery loop on Kafka, dead letters through `broker` (started
    before the loop)."""
    kafka = settings.kafka
    consumer = KafkaConsumer(
        kafka.bootstrap,
        kafka.topic,
        kafka.group_id,
        client_id="projector",
        dead_letters=DeadLetterTopic(broker, kafka.dlq_topic),
    )
    processor = ProjectionProcessor(projector, forgetting, settings.telemetry.enabled)
    return DeliveryLoop(consumer, processor, delivery_config(settings), name="projector-consumer")
