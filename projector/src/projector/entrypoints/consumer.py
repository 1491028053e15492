"""The Kafka subscriber: one event at a time per partition, offsets committed only
after the event's effects are stored.

- A transient failure (read store, event store or Redis down, a gap the event store
  cannot fill yet, a document that keeps changing) is retried with backoff and then
  nacked: the partition rewinds to this event and nothing after it is skipped.
- Offsets are committed for events whose effects are stored, at most every
  COMMIT_EVERY_SECONDS (one broker round trip per batch, not per event); after a crash
  the uncommitted tail is delivered again and skipped by version.
- Any other failure (a poison event) is retried a bounded number of times, then the
  event goes to the dead-letter topic with the error and the partition moves on."""

import asyncio
import logging
import time
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from pymongo.errors import PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
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


class EventConsumer:
    def __init__(self, broker: KafkaBroker, projector: Projector, settings: Settings) -> None:
        self._broker = broker
        self._projector = projector
        self._settings = settings
        self.processed = 0
        self.dead_lettered = 0
        self._uncommitted = 0
        self._committed_at = time.monotonic()
        broker.subscriber(
            settings.kafka.topic,
            group_id=settings.kafka.group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            title="cqrs-events",
            description="Every stored event (EventEnvelope JSON), keyed by stream id.",
        )(self.on_message)

    async def on_message(self, msg: KafkaMessage) -> None:
        try:
            await self._process(msg)
        except TRANSIENT:
            await msg.nack()  # rewind to this event; everything after it waits
            return
        self._uncommitted += 1
        now = time.monotonic()
        if now - self._committed_at >= COMMIT_EVERY_SECONDS or self._uncommitted >= 1000:
            await msg.ack()  # commits every offset up to and including this event
            self._committed_at, self._uncommitted = now, 0

    async def _process(self, msg: KafkaMessage) -> None:
        body = msg.body
        try:
            envelope = EventEnvelope.model_validate_json(body)
        except ValidationError as bad:
            await self._dead_letter(body, msg, f"not an event envelope: {bad}")
            return
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
                    await self._dead_letter(body, msg, f"{type(error).__name__}: {error}")
                    return
            else:
                self.processed += 1
                return
            await asyncio.sleep(cfg.retry_backoff * 2 ** (attempt - 1))

    async def _dead_letter(self, body: bytes, msg: KafkaMessage, error: str) -> None:
        raw: Any = msg.raw_message
        source = f"{raw.topic}:{raw.partition}:{raw.offset}"
        headers = {k: v for k, v in msg.headers.items() if isinstance(v, str)}
        await self._broker.publish(
            body,
            self._settings.kafka.dlq_topic,
            key=raw.key,
            headers=dlq_headers(headers, error, source),
        )
        self.dead_lettered += 1
