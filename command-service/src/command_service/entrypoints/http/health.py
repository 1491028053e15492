"""GET /health (liveness) and GET /api/v1/cqrs/health (a check per component)."""

import asyncio
import time
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text

from command_service.adapters.outbox_relay import outbox_backlog
from command_service.bootstrap import Container


@get("/health", tags=["health"], summary="Liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok", "service": "command-service"}


async def _check(name: str, probe: Any, limit_s: float) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, limit_s)
    except Exception as error:
        return name, {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
    took = round((time.perf_counter() - started) * 1000, 1)
    return name, {"status": "up", "latency_ms": took, **(detail or {})}


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
    checks = dict(
        await asyncio.gather(
            _check("database", _database(container), 3.0),
            _check("broker", _broker(container), 3.0),
            _check("outbox", _outbox(container), 3.0),
        )
    )
    healthy = all(c["status"] == "up" for c in checks.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "service": "command-service",
        "checks": checks,
    }
    return Response(body, status_code=200 if healthy else 503)
