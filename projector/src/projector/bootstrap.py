"""The one place that reads settings and wires the projector's adapters."""

from dataclasses import dataclass
from typing import Any, TypeAlias

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_event_store.reader import EventReader
from cqrs_http.shutdown import bounded
from cqrs_read_store.announce import RedisNotifier
from cqrs_read_store.codec import make_client
from cqrs_read_store.writer import ViewStore
from projector.adapters.rebuild_control import RebuildControl
from projector.application.corrections import Corrections
from projector.application.delivery import DeliveryLoop
from projector.application.projector import Projector
from projector.application.rebuild import Rebuild, staging_suffix
from projector.webhooks.adapters.outcomes import WebhookOutcomes
from projector.webhooks.adapters.registry import WebhookRegistry
from projector.webhooks.adapters.sender import HttpSender
from projector.webhooks.adapters.targets import TargetPolicy
from projector.webhooks.application.delivery import RetryPolicy, WebhookDelivery

# the projections' delivery loop (projector.entrypoints.consumer)
ProjectionConsumer: TypeAlias = DeliveryLoop[EventEnvelope]


@dataclass
class Container:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    engine: AsyncEngine
    redis: Redis
    broker: KafkaBroker
    views: ViewStore
    events: EventReader
    projector: Projector
    corrections: Corrections  # admin corrections: the same writer and announcement
    consumer: ProjectionConsumer | None = None  # set by the app (create_app)
    webhooks: "Webhooks | None" = None  # set by install_webhooks


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the startup hooks."""
    mongo = make_client(settings.database.mongodb)
    db = settings.database.mysql
    engine = create_async_engine(
        db.url(),
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"connect_timeout": db.connect_timeout},
    )
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.socket_timeout,
        socket_connect_timeout=settings.redis.connect_timeout,
    )
    broker = KafkaBroker(settings.kafka.bootstrap, client_id="projector")
    views = ViewStore(mongo[settings.database.mongodb.database])
    events = EventReader(engine)
    notifier = RedisNotifier(redis, settings.redis.prefix)
    projector = Projector(
        views=[views],
        history=events,
        notifier=notifier,
        max_conflict_retries=settings.projector.max_conflict_retries,
    )
    corrections = Corrections(views, notifier)
    return Container(settings, mongo, engine, redis, broker, views, events, projector, corrections)


def read_db(container: Container) -> AsyncDatabase[dict[str, Any]]:
    return container.mongo[container.settings.database.mongodb.database]


async def watch_rebuilds(container: Container) -> None:
    """Keep the live projector writing to a rebuild's staging collections while one runs."""

    def on_change(suffix: str | None) -> None:
        staging = [ViewStore(read_db(container), suffix)] if suffix else []
        container.projector.views = [container.views, *staging]

    await RebuildControl(read_db(container)).watch(on_change)


def make_rebuild(container: Container) -> Rebuild:
    return Rebuild(
        live=container.views,
        staging=ViewStore(read_db(container), staging_suffix()),
        events=container.events,
        control=RebuildControl(read_db(container)),
        batch=container.settings.projector.rebuild_batch_size,
    )


@dataclass
class Webhooks:
    """Webhook event handlers: registrations, delivery outcomes, the HTTP sender and the
    delivery (its consumers, in a group of their own, are wired by install_webhooks)."""

    registry: WebhookRegistry
    outcomes: WebhookOutcomes
    sender: HttpSender
    delivery: WebhookDelivery


def build_webhooks(container: Container) -> Webhooks:
    cfg = container.settings.webhooks
    registry, outcomes = WebhookRegistry(read_db(container)), WebhookOutcomes(read_db(container))
    sender = HttpSender(cfg.timeout, TargetPolicy(cfg.allowed_hosts))
    policy = RetryPolicy(max(1, cfg.max_attempts), cfg.retry_base_delay, cfg.retry_max_delay)
    delivery = WebhookDelivery(registry, sender, outcomes, policy)
    return Webhooks(registry, outcomes, sender, delivery)


async def close(container: Container) -> None:
    await bounded(
        ("kafka", container.broker.stop()),
        ("redis", container.redis.aclose()),
        ("mongo", container.mongo.close()),
        ("mysql", container.engine.dispose()),
    )
