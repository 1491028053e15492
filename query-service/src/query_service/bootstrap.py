"""The one place that reads settings and wires the query-service's adapters."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.handlers import QueryDeclaration
from cqrs_contracts.queries import QUERY_TYPES
from cqrs_contracts.read_models import ChangeNotification
from cqrs_contracts.settings import Settings
from cqrs_http.handlers.registry import HandlerRegistry
from query_service.adapters.cache import ReadCache
from query_service.adapters.consistency import ConsistencyWaiter
from query_service.adapters.corrections import Corrections
from query_service.adapters.handler_store import MongoHandlerStore
from query_service.adapters.query_log import QueryLog
from query_service.adapters.read_store import ReadStore
from query_service.queries.service import QueryService


@dataclass
class Container:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    redis: Redis
    queries: QueryService  # on the ports below, the same adapters
    cache: ReadCache
    query_log: QueryLog
    corrections: Corrections
    handler_store: MongoHandlerStore
    handlers: HandlerRegistry[
        QueryDeclaration
    ]  # declared and disabled query types, shared by replicas
    live_clients: int = 0

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.mongo[self.settings.database.mongodb.database]

    async def announce(self, read_model: str, doc_id: str, data: dict[str, Any] | None) -> None:
        """Tell caches and every replica about an admin correction, as the projector does."""
        p = self.settings.redis.prefix
        versions = (data or {}).get("versions", {})
        note = ChangeNotification(
            read_model=read_model, id=doc_id, version=versions.get(doc_id, 0), position=0, data=data
        ).model_dump_json()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(ch.cached_doc(p, read_model, doc_id))
            pipe.incr(ch.generation(p, read_model))
            pipe.publish(ch.read_model_channel(p, read_model), note)
            pipe.publish(ch.document_channel(p, read_model, doc_id), note)
            await pipe.execute()


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the startup hooks."""
    mongo_cfg = settings.database.mongodb
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_cfg.uri,
        tz_aware=True,
        maxPoolSize=mongo_cfg.max_pool_size,
        connectTimeoutMS=int(mongo_cfg.connect_timeout * 1000),
        timeoutMS=int(settings.query_service.query_timeout * 1000),
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
    queries = QueryService(
        store=ReadStore(db),
        cache=cache,
        waiter=ConsistencyWaiter(redis, prefix),
        log=query_log,
        settings=settings,
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
        corrections=Corrections(db),
        handler_store=handler_store,
        handlers=handlers,
    )
