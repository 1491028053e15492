"""GET /health (liveness) and GET /api/v1/cqrs/health (a check per component)."""

import asyncio
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.outbox_relay import outbox_backlog
from command_service.bootstrap import Container
from cqrs_http.health import check, verdict


@get("/health", tags=["health"], summary="Liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok", "service": "command-service"}


async def _database(container: Container) -> dict[str, Any]:
    """Every shard's primary answers (one down: the writes of its users fail)."""

    async def ping(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    found = await asyncio.gather(*(ping(e) for e in container.engines), return_exceptions=True)
    down = [f"shard {n}: {type(e).__name__}: {e}" for n, e in enumerate(found) if e is not None]
    if down:
        raise ConnectionError("; ".join(down)[:500])
    return {"shards": len(container.shards)}


async def _broker(container: Container) -> dict[str, Any]:
    if not await container.broker.ping(timeout=2.0):
        raise ConnectionError("Kafka did not answer")
    return {}


async def _outbox(container: Container) -> dict[str, Any]:
    backlogs = [await outbox_backlog(engine) for engine in container.engines]
    return {
        "backlog": sum(backlogs),
        "relay_shards": sum(len(s.relay.owned_shards) for s in container.shards),
        **({"backlog_by_shard": backlogs} if len(backlogs) > 1 else {}),
    }


@get("/api/v1/cqrs/health", tags=["health"], summary="Health of every component")
async def readiness(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    probes = {
        "database": _database(container),
        "broker": _broker(container),
        "outbox": _outbox(container),
    }
    if container.replicas.replicas:  # a replica down or behind: its reads use the primary
        probes["replicas"] = container.replicas.health()
    results = await asyncio.gather(*(check(probe, 3.0) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    return verdict("command-service", checks, degrades=frozenset({"replicas"}))
