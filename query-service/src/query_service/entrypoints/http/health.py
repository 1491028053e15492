"""GET /health (liveness), /api/v1/cqrs/health (components), /api/v1/cqrs/stats."""

import asyncio
import time
from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import ADMIN, READER
from query_service.bootstrap import Container

STARTED = time.monotonic()


@get("/health", tags=["health"], summary="Liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok", "service": "query-service"}


async def _check(probe: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe, 3.0)
    except Exception as error:
        return {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


@get("/api/v1/cqrs/health", tags=["health"], summary="Health of every component")
async def readiness(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    read_store, cache = await asyncio.gather(
        _check(container.db.command("ping")), _check(container.redis.ping())
    )
    checks = {"read_store": read_store, "cache": cache}
    healthy = all(c["status"] == "up" for c in checks.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "service": "query-service",
        "checks": checks,
    }
    return Response(body, status_code=200 if healthy else 503)


@get("/api/v1/cqrs/stats", tags=["health"], summary="Query-side statistics", guards=[READER])
async def stats(container: NamedDependency[Container]) -> dict[str, Any]:
    counts = await asyncio.gather(*(container.queries.store.count(name) for name in READ_MODELS))
    return {
        "service": "query-service",
        "version": container.settings.cqrs.version,
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
        "read_models": dict(zip(READ_MODELS, counts, strict=True)),
        "cache": await container.queries.cache.stats(),
        "websocket_clients": container.live_clients,
    }


@post(
    "/api/v1/cqrs/cleanup",
    status_code=200,
    tags=["health"],
    summary="Apply retention to the query log (cqrs.max_queries)",
    guards=[ADMIN],
)
async def cleanup(container: NamedDependency[Container]) -> dict[str, Any]:
    return {"query_log_removed": await container.queries.log.trim()}
