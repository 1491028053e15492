"""GET /health (liveness), /api/v1/cqrs/health (components), /api/v1/cqrs/stats."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import ADMIN, READER
from cqrs_http.health import check, verdict
from query_service.adapters.metrics import query_counts
from query_service.bootstrap import Container

STARTED = time.monotonic()


@get("/health", tags=["health"], summary="Liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok", "service": "query-service"}


async def _answered(call: Awaitable[Any]) -> None:
    """A probe that only has to answer (its reply carries nothing to report)."""
    await call


@get("/api/v1/cqrs/health", tags=["health"], summary="Health of every component")
async def readiness(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    probes: dict[str, Awaitable[Any]] = {
        "read_store": container.db.command("ping"),
        "cache": container.redis.ping(),
        **container.history.pings(),  # every shard of the event store, a check each
    }
    results = await asyncio.gather(*(check(_answered(p), 3.0) for p in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    # without the event store (or a shard of it) only time travel fails (503): live
    # queries go on
    return verdict("query-service", checks, degrades=frozenset(container.history.check_names))


@get("/api/v1/cqrs/stats", tags=["health"], summary="Query-side statistics", guards=[READER])
async def stats(container: NamedDependency[Container]) -> dict[str, Any]:
    counts = await asyncio.gather(*(container.queries.store.count(name) for name in READ_MODELS))
    return {
        "service": "query-service",
        "version": container.settings.cqrs.version,
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
        "tasks": len(asyncio.all_tasks()),  # this process's asyncio tasks (leaks show here)
        "read_models": dict(zip(READ_MODELS, counts, strict=True)),
        "cache": container.cache.stats(),  # this replica's
        "query_log": container.query_log.stats(),
        "websocket_clients": container.live_clients,
        "queries": query_counts(),  # this process's, by type and outcome
    }


@post(
    "/api/v1/cqrs/cleanup",
    status_code=200,
    tags=["health"],
    summary="Apply retention to the query log (cqrs.max_queries)",
    guards=[ADMIN],
)
async def cleanup(container: NamedDependency[Container]) -> dict[str, Any]:
    return {"query_log_removed": await container.query_log.trim()}
