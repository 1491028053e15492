"""GET /api/v1/cqrs/stats and POST /api/v1/cqrs/cleanup."""

import asyncio
import time
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency

from command_service.adapters.retention import command_stats
from command_service.bootstrap import Container
from cqrs_http.auth import ADMIN, READER

STARTED = time.monotonic()


@get("/api/v1/cqrs/stats", tags=["operations"], summary="Command-side statistics", guards=[READER])
async def stats(container: NamedDependency[Container]) -> dict[str, Any]:
    return {
        "service": "command-service",
        "version": container.settings.cqrs.version,
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
        "tasks": len(asyncio.all_tasks()),  # this process's asyncio tasks (leaks show here)
        "relay": {
            "published": sum(s.relay.published for s in container.shards),
            "owned_shards": sum(len(s.relay.owned_shards) for s in container.shards),
        },
        "event_store_shards": len(container.shards),
        "group_commit": container.commands.group_commit_stats(),
        **await command_stats(container.engines),
    }


@post(
    "/api/v1/cqrs/cleanup",
    status_code=200,
    tags=["operations"],
    summary="Apply retention (command log, idempotency keys); events are never removed",
    guards=[ADMIN],
)
async def cleanup(container: NamedDependency[Container]) -> dict[str, Any]:
    return await container.retention.run()
