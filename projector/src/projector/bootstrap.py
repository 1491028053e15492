"""The one place that reads settings and wires the projector's adapters."""

from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.settings import Settings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_event_store.replicas import ReadRouter
from cqrs_event_store.shard_routers import ShardRouters, shard_engines, shard_routers
from cqrs_http.shutdown import bounded
from cqrs_http.telemetry import install_tracing
from cqrs_read_store.announce import RedisNotifier
from cqrs_read_store.codec import make_client
from cqrs_read_store.writer import ViewStore
from projector.adapters.consumer_lag import LagReader
from projector.adapters.erasure import RedisErasure
from projector.adapters.rebuild_control import RebuildControl
from projector.application.corrections import Corrections
from projector.application.forgetting import Forgetting
from projector.application.projector import Projector
from projector.application.rebuild import Rebuild, staging_suffix
from projector.entrypoints.consumer import ProjectionConsumer, projection_consumer
from projector.webhooks.bootstrap import Webhooks, build_webhooks

LAG_TIMEOUT_SECONDS = 3.0


@dataclass
class Container:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    engine: AsyncEngine  # shard 0's primary
    replicas: ReadRouter  # shard 0's: gap filling and rebuilds read replicas where they can
    shards: ShardRouters  # every shard of the event store (shards[0] is `replicas`)
    redis: Redis
    broker: KafkaBroker
    views: ViewStore
    keys: KeyRing  # the process's one key ring: every reveal, every forget
    events: EventReader  # revealing: gap filling, rebuilds, the consistency check
    projector: Projector
    corrections: Corrections  # admin corrections: the same writer and announcement
    consumer: ProjectionConsumer  # the projections' delivery loop (started by the app)
    webhooks: Webhooks
    lag: LagReader  # the group's lag and the dead letters, for health, stats and metrics


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the startup hooks."""
    install_tracing(settings.telemetry, "projector")  # before the clients: their spans
    mongo = make_client(settings.database.mongodb)
    db = settings.database.mysql
    engines = shard_engines(db, pool_size=5, max_overflow=5)  # a primary per shard
    shards = shard_routers(db, engines)
    engine = engines[0]
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.socket_timeout,
        socket_connect_timeout=settings.redis.connect_timeout,
    )
    broker = KafkaBroker(settings.kafka.bootstrap, client_id="projector")
    views = ViewStore(mongo[settings.database.mongodb.database])
    privacy = settings.privacy
    keys = KeyRing(engines, master_key_from(privacy), privacy.key_cache_ttl)
    events = EventReader(shards, keys)
    forgetting = Forgetting(keys, RedisErasure(redis, settings.redis.prefix))
    notifier = RedisNotifier(redis, settings.redis.prefix)
    projector = Projector(
        views=[views],
        history=events,
        notifier=notifier,
        max_conflict_retries=settings.projector.max_conflict_retries,
    )
    return Container(
        settings=settings,
        mongo=mongo,
        engine=engine,
        replicas=shards[0],
        shards=shards,
        redis=redis,
        broker=broker,
        views=views,
        keys=keys,
        events=events,
        projector=projector,
        corrections=Corrections(views, notifier),
        consumer=projection_consumer(settings, broker, projector, forgetting),
        webhooks=build_webhooks(settings, mongo[settings.database.mongodb.database], keys),
        lag=LagReader(settings.kafka.bootstrap, LAG_TIMEOUT_SECONDS),
    )


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


async def close(container: Container) -> None:
    await bounded(
        ("kafka", container.broker.stop()),
        ("kafka lag", container.lag.close()),
        ("redis", container.redis.aclose()),
        ("mongo", container.mongo.close()),
        *((f"mysql shard {n}", e.dispose()) for n, e in enumerate(container.shards.primaries)),
        ("mysql replicas", container.shards.close()),
    )
