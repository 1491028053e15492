"""Webhook delivery: a Kafka consumer of the events topic in its own group (and its own
broker connection), so a slow or failing receiver never holds up the projections.

- One consumer per partition, each taking its events one at a time: the events of one
  aggregate (one key, one partition) reach every handler in order.
- An offset is committed only once its event was delivered to every handler or
  dead-lettered (at-least-once: receivers dedupe by X-CQRS-Event-Id); offsets of events
  no handler wanted are committed at most every COMMIT_EVERY_SECONDS.
- The read store being down (registrations, dead letters) rewinds the partition to the
  event after a pause, so nothing is skipped."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_contracts.upcasting import UnknownSchemaVersionError, upcast_envelope
from cqrs_http.shutdown import bounded, stop_tasks
from projector.bootstrap import Container, Webhooks, build_webhooks
from projector.entrypoints.consumer import FETCH_WAIT_MS

log = logging.getLogger("projector.webhooks")
COMMIT_EVERY_SECONDS = 0.1


def group_of(settings: Settings) -> str:
    return settings.webhooks.group_id or f"{settings.kafka.group_id}-webhooks"


def _poll_interval_ms(settings: Settings) -> int:
    """Long enough for one event's every attempt, so a retrying consumer keeps its
    partitions (Kafka's default is 5 minutes)."""
    cfg = settings.webhooks
    worst = cfg.max_attempts * (cfg.timeout + cfg.retry_max_delay) + 60
    return int(max(300.0, worst) * 1000)


async def _itself(msg: KafkaMessage) -> KafkaMessage:
    return msg


class WebhookConsumer:
    def __init__(self, webhooks: Webhooks, settings: Settings) -> None:
        self._webhooks = webhooks
        self._pause = settings.webhooks.retry_base_delay
        self._committed_at: dict[int, float] = {}
        webhooks.broker.subscriber(
            settings.kafka.topic,
            group_id=group_of(settings),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            max_workers=max(1, settings.kafka.partitions),
            max_poll_interval_ms=_poll_interval_ms(settings),
            fetch_max_wait_ms=FETCH_WAIT_MS,  # idle: one fetch per 2 s per consumer
            decoder=_itself,  # the handler takes the message as it is (no JSON decoding)
            title="cqrs-events-webhooks",
            description="Every stored event, POSTed to the webhook handlers that want it.",
        )(self.on_message)

    async def on_message(self, msg: KafkaMessage) -> None:
        envelope = self._decode(msg.body)
        try:
            handlers = await self._webhooks.delivery.deliver(envelope) if envelope else 0
        except PyMongoError:
            log.warning("read store unavailable for webhooks; rewinding", exc_info=True)
            await asyncio.sleep(self._pause)
            await msg.nack()
            return
        partition = int(getattr(msg.raw_message, "partition", 0))
        now = time.monotonic()
        if handlers or now - self._committed_at.get(partition, 0.0) >= COMMIT_EVERY_SECONDS:
            await msg.ack()  # commits this partition up to and including this event
            self._committed_at[partition] = now

    @staticmethod
    def _decode(body: bytes) -> EventEnvelope | None:
        """The event at its current schema version; None for what is not one (the
        projector dead-letters those)."""
        try:
            return upcast_envelope(EventEnvelope.model_validate_json(body))
        except (ValidationError, UnknownSchemaVersionError) as error:
            log.warning("not delivering a message that is not a current event: %s", error)
            return None


def webhooks_lifespan(
    webhooks: Webhooks, settings: Settings
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Starts the registrations' refresh and (when enabled) delivery; stops both."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await webhooks.registry.ensure_indexes()
        await webhooks.outcomes.ensure_indexes()
        refresh = settings.webhooks.refresh_interval
        watcher = asyncio.create_task(webhooks.registry.watch(refresh), name="webhook-registry")
        if settings.webhooks.enabled:
            await webhooks.broker.start()
        try:
            yield
        finally:
            await bounded(
                ("webhooks-kafka", webhooks.broker.stop()),
                ("webhooks-http", webhooks.sender.close()),
            )
            await stop_tasks([watcher])

    return lifespan


def install_webhooks(container: Container) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Wire webhook delivery into the projector process (`container.extra["webhooks"]`);
    the lifespan that runs it."""
    webhooks = build_webhooks(container)
    container.extra["webhooks"] = webhooks
    if container.settings.webhooks.enabled:
        container.extra["webhook_consumer"] = WebhookConsumer(webhooks, container.settings)
    return webhooks_lifespan(webhooks, container.settings)
