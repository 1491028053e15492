"""The one place that reads settings and wires the projector's adapters."""

from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.settings import Settings
from projector.adapters.event_source import EventSource
from projector.adapters.mongo import make_client
from projector.adapters.notifier import RedisNotifier
from projector.adapters.view_store import ViewStore
from projector.application.projector import Projector


@dataclass
class Container:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    engine: AsyncEngine
    redis: Redis
    broker: KafkaBroker
    views: ViewStore
    events: EventSource
    projector: Projector
    extra: dict[str, Any] = field(default_factory=dict)


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the startup hooks."""
    mongo = make_client(settings.database.mongodb)
    db = settings.database.mysql
    engine = create_async_engine(db.url(), pool_size=5, max_overflow=5, pool_pre_ping=True)
    redis = Redis.from_url(settings.redis.url, socket_timeout=5, socket_connect_timeout=5)
    broker = KafkaBroker(settings.kafka.bootstrap, client_id="projector")
    views = ViewStore(mongo[settings.database.mongodb.database])
    events = EventSource(engine)
    projector = Projector(
        views=[views],
        history=events,
        notifier=RedisNotifier(redis, settings.redis.prefix),
        max_conflict_retries=settings.projector.max_conflict_retries,
    )
    return Container(settings, mongo, engine, redis, broker, views, events, projector)


async def close(container: Container) -> None:
    await container.broker.stop()
    await container.redis.aclose()
    await container.mongo.close()
    await container.engine.dispose()
