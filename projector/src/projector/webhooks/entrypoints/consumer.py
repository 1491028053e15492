"""Webhook delivery: the delivery loop (projector.application.delivery) on the events
topic in a consumer group of its own, so a slow or failing receiver never holds up the
projections.

- One consumer per partition, each taking its events one at a time: the events of one
  aggregate (one key, one partition) reach every handler in order, and a poll waits at
  most for one event's every attempt (the poll interval allows that).
- An offset is committed once its event was delivered to every handler or dead-lettered
  (at-least-once: receivers dedupe by webhook-id); offsets of events no handler wanted
  go with the throttled commits.
- The read store being down (registrations, dead letters) rewinds the partition to the
  event after a pause (`webhooks.retry_base_delay`), so nothing is skipped.
- What is not a current event is skipped (the projector dead-letters it).
- Each event is revealed before it is delivered (handlers get plaintext, or the erased
  placeholder once its user is forgotten); a data key not there yet or the event store
  down rewinds like the read store down. On a `UserForgotten` event the stored
  deliveries of that user are erased: every earlier event of theirs (one key, one
  partition) was delivered or dead-lettered by then."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pymongo.errors import PyMongoError
from sqlalchemy.exc import SQLAlchemyError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_contracts.upcasting import UnknownSchemaVersionError, upcast_envelope
from cqrs_event_store.privacy.keyring import MissingDataKeyError
from cqrs_http.shutdown import bounded, stop_tasks
from projector.adapters.kafka_consumer import KafkaConsumer
from projector.application.consumer import Message
from projector.application.delivery import Decoded, DeliveryConfig, DeliveryLoop
from projector.application.forgetting import Forgetting
from projector.webhooks.application.delivery import WebhookDelivery

if TYPE_CHECKING:
    from projector.webhooks.bootstrap import Webhooks

log = logging.getLogger("projector.webhooks")
WebhookConsumer = DeliveryLoop[EventEnvelope]


def group_of(settings: Settings) -> str:
    return settings.webhooks.group_id or f"{settings.kafka.group_id}-webhooks"


def _poll_interval_ms(settings: Settings) -> int:
    """Long enough for one event's every attempt, so a retrying consumer keeps its
    partitions (Kafka's default is 5 minutes)."""
    cfg = settings.webhooks
    worst = cfg.max_attempts * (cfg.timeout + cfg.retry_max_delay) + 60
    return int(max(300.0, worst) * 1000)


def _current(body: bytes | None) -> EventEnvelope | None:
    """The event at its current schema version; None for what is not one."""
    try:
        return upcast_envelope(EventEnvelope.model_validate_json(body or b""))
    except (ValidationError, UnknownSchemaVersionError) as error:
        log.warning("not delivering a message that is not a current event: %s", error)
        return None


class WebhookProcessor:
    transient = (PyMongoError, SQLAlchemyError, MissingDataKeyError)

    def __init__(self, delivery: WebhookDelivery, forgetting: Forgetting) -> None:
        self._delivery = delivery
        self._forgetting = forgetting

    async def _revealed(self, envelope: EventEnvelope) -> EventEnvelope:
        (revealed,) = await self._forgetting.reveal([envelope])
        return revealed

    def decode(self, messages: Sequence[Message]) -> Decoded[EventEnvelope]:
        items = []
        for message in messages:
            envelope = _current(message.value)
            if envelope is not None:
                items.append((message, envelope))
        return Decoded(items)

    async def process_batch(self, batch: Decoded[EventEnvelope]) -> bool:
        return False  # one event at a time, in order

    async def process(
        self, message: Message, item: EventEnvelope, batch: Decoded[EventEnvelope]
    ) -> bool:
        delivered = await self._delivery.deliver(item, reveal=self._revealed)
        # the erasure needs only the forgotten user's id, which is never sealed
        erased = await self._forgetting.erase_forgotten([item])
        # delivered to some handler (or dead-lettered), or erased: committed at once
        return delivered > 0 or bool(erased)


def delivery_config(settings: Settings) -> DeliveryConfig:
    """One event per poll; a read store that is down: one pause, then the event again
    (retried for as long as it is down); anything else: logged and skipped."""
    return DeliveryConfig(
        batch_max_records=1,
        idle_poll_ms=settings.projector.idle_poll_ms,
        max_attempts=1,
        backoff=settings.webhooks.retry_base_delay,
    )


def webhook_consumers(
    delivery: WebhookDelivery, forgetting: Forgetting, settings: Settings
) -> list[WebhookConsumer]:
    """One delivery loop per partition, each with its own consumer in the group."""
    processor = WebhookProcessor(delivery, forgetting)
    config = delivery_config(settings)
    return [
        DeliveryLoop(
            KafkaConsumer(
                settings.kafka.bootstrap,
                settings.kafka.topic,
                group_of(settings),
                client_id="projector-webhooks",
                max_poll_interval_ms=_poll_interval_ms(settings),
            ),
            processor,
            config,
            name=f"webhooks-{n}",
        )
        for n in range(max(1, settings.kafka.partitions))
    ]


def webhooks_lifespan(
    webhooks: "Webhooks", settings: Settings
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Starts the registrations' refresh and the delivery consumers; stops both."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await webhooks.registry.ensure_indexes()
        await webhooks.outcomes.ensure_indexes()
        refresh = settings.webhooks.refresh_interval
        watcher = asyncio.create_task(webhooks.registry.watch(refresh), name="webhook-registry")
        # together, so the group's first assignment spreads the partitions over them
        consumers = webhooks.consumers
        await asyncio.gather(*(consumer.start() for consumer in consumers))
        try:
            yield
        finally:
            await bounded(
                ("webhooks-kafka", asyncio.gather(*(consumer.stop() for consumer in consumers))),
                ("webhooks-http", webhooks.sender.close()),
            )
            await stop_tasks([watcher])

    return lifespan
