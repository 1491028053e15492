"""The one place that reads settings and wires the query-service's adapters."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from cqrs_contracts.handlers import QueryDeclaration
from cqrs_contracts.queries import QUERY_TYPES
from cqrs_contracts.settings import Settings
from cqrs_http.handlers.registry import HandlerRegistry
from cqrs_http.telemetry import install_tracing
from cqrs_read_store.codec import read_options
from cqrs_read_store.reader import ReadStore
from query_service.adapters.cache import ReadCache
from query_service.adapters.consistency import ConsistencyWaiter
from query_service.adapters.handler_store import MongoHandlerStore
from query_service.adapters.history import EventStoreHistory, history_engines
from query_service.adapters.past_answers import RedisPastAnswers
from query_service.adapters.query_log import QueryLog
from query_service.queries.past import TimeTravel
from query_service.queries.service import QueryService


@dataclass
class Container:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    redis: Redis
    queries: QueryService  # on the ports below, the same adapters
    cache: ReadCache
    query_log: QueryLog
    handler_store: MongoHandlerStore
    handlers: HandlerRegistry[QueryDeclaration]  # declared and disabled types, shared by replicas
    history: EventStoreHistory  # the event store, read for time travel only
    live_clients: int = 0

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.mongo[self.settings.database.mongodb.database]


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the startup hooks."""
    install_tracing(settings.telemetry, "query-service")  # before the clients: their spans
    mongo_cfg = settings.database.mongodb
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_cfg.uri,
        tz_aware=True,
        maxPoolSize=mongo_cfg.max_pool_size,
        connectTimeoutMS=int(mongo_cfg.connect_timeout * 1000),
        timeoutMS=int(settings.query_service.query_timeout * 1000),
        **read_options(mongo_cfg),
    )
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.socket_timeout,
        socket_connect_timeout=settings.redis.connect_timeout,
    )
    prefix = settings.redis.prefix
    db = mongo[mongo_cfg.database]
    cache = ReadCache(redis, prefix, settings.redis.cache_ttl, settings.cqrs.caching_enabled)
    query_log = QueryLog(
        db,
        settings.cqrs.max_queries,
        flush_interval=settings.query_service.log_flush_interval,
        batch_size=settings.query_service.log_batch_size,
        buffer_size=settings.query_service.log_buffer_size,
    )
    store = ReadStore(db)
    qs = settings.query_service
    history = EventStoreHistory(
        history_engines(settings.database.mysql), qs.query_timeout, settings.privacy
    )
    past = TimeTravel(
        store=store,
        history=history,
        answers=RedisPastAnswers(redis, prefix, qs.time_travel_cache_ttl),
        settings=settings,
    )
    queries = QueryService(
        store=store,
        cache=cache,
        waiter=ConsistencyWaiter(redis, prefix),
        log=query_log,
        settings=settings,
        past=past,
    )
    handler_store = MongoHandlerStore(db)
    handlers = HandlerRegistry("query", handler_store, QueryDeclaration, QUERY_TYPES, queries.use)
    return Container(
        settings=settings,
        mongo=mongo,
        redis=redis,
        queries=queries,
        cache=cache,
        query_log=query_log,
        handler_store=handler_store,
        handlers=handlers,
        history=history,
    )
