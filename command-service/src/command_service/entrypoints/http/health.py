"""GET /health (liveness) and GET /api/v1/cqrs/health (a check per component)."""

import asyncio
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text

from command_service.adapters.outbox_relay import outbox_backlog
from command_service.bootstrap import Container
from cqrs_http.health import check, verdict


@get("/health", tags=["health"], summary="Liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok", "service": "command-service"}


async def _database(container: Container) -> dict[str, Any]:
    async with container.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {}


async def _broker(container: Container) -> dict[str, Any]:
    if not await container.broker.ping(timeout=2.0):
        raise ConnectionError("Kafka did not answer")
    return {}


async def _outbox(container: Container) -> dict[str, Any]:
    return {
        "backlog": await outbox_backlog(container.engine),
        "relay_shards": len(container.relay.owned_shards),
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
