"""GET /api/v1/cqrs/health (read store, cache, broker, each event-store shard and shard
0's replicas, consumer lag; a replica down or behind degrades, its reads use the
primary; a shard down fails, as its gap filling and replays do) and
GET /api/v1/cqrs/stats (events processed and dead-lettered, the group's lag per
partition, uptime, version)."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store.shard_routers import health_check_name
from cqrs_http.auth import READER
from cqrs_http.health import check, verdict
from projector.adapters.consumer_lag import PartitionLag
from projector.bootstrap import Container, read_db

STARTED = time.monotonic()
CHECK_SECONDS = 3.0


async def _lag(container: Container) -> list[PartitionLag]:
    kafka = container.settings.kafka
    return await container.lag.lags(kafka.topic, kafka.group_id)  # clients kept


def _lag_body(lags: list[PartitionLag]) -> dict[str, Any]:
    return {
        "total": sum(p.lag for p in lags),
        "partitions": {
            str(p.partition): {"end": p.end, "committed": p.committed, "lag": p.lag} for p in lags
        },
    }


async def _ping_read_store(container: Container) -> None:
    await read_db(container).command("ping")


async def _ping_cache(container: Container) -> None:
    await container.redis.ping()


async def _ping_broker(container: Container) -> None:
    if not await container.broker.ping(timeout=CHECK_SECONDS):
        raise ConnectionError("Kafka did not answer")


async def _ping_shard(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _consumer_lag(container: Container) -> dict[str, Any]:
    return _lag_body(await _lag(container))


@get("/api/v1/cqrs/health", tags=["health"], summary="Health of every component")
async def readiness(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    probes: dict[str, Awaitable[Any]] = {
        "read_store": _ping_read_store(container),
        "cache": _ping_cache(container),
        "broker": _ping_broker(container),
        **{
            health_check_name(n): _ping_shard(engine)
            for n, engine in enumerate(container.shards.primaries)
        },
        "consumer_lag": _consumer_lag(container),
    }
    if container.replicas.replicas:
        probes["replicas"] = container.replicas.health()
    results = await asyncio.gather(*(check(p, CHECK_SECONDS + 1) for p in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    return verdict("projector", checks, degrades=frozenset({"replicas"}))


@get("/api/v1/cqrs/stats", tags=["health"], summary="Projector statistics", guards=[READER])
async def stats(container: NamedDependency[Container]) -> dict[str, Any]:
    consumer = container.consumer
    lag = await check(_consumer_lag(container), CHECK_SECONDS + 1)
    return {
        "service": "projector",
        "version": container.settings.cqrs.version,
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
        "tasks": len(asyncio.all_tasks()),  # this process's asyncio tasks (leaks show here)
        "events_processed": consumer.processed,
        "events_dead_lettered": consumer.dead_lettered,
        "topic": container.settings.kafka.topic,
        "group_id": container.settings.kafka.group_id,
        "consumer_lag": lag,
    }
