"""The shape of a service's component health: one check per component, each bounded in
time, and an overall status (200 when every component is up, or only ones whose loss
degrades the service are down; 503 otherwise)."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from litestar import Response


async def check(probe: Awaitable[dict[str, Any] | None], limit_s: float) -> dict[str, Any]:
    """Run one probe within `limit_s`: up (with its latency and details) or down (why)."""
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, limit_s)
    except Exception as error:
        return {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
    took = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "up", "latency_ms": took, **(detail or {})}


def verdict(
    service: str, checks: dict[str, dict[str, Any]], degrades: frozenset[str] = frozenset()
) -> Response[dict[str, Any]]:
    """healthy (200) when every component is up; degraded (200: the service still serves)
    when only components in `degrades` are down; unhealthy (503) otherwise."""
    down = {name for name, c in checks.items() if c["status"] != "up"}
    status = "healthy" if not down else "degraded" if down <= degrades else "unhealthy"
    body = {"status": status, "service": service, "checks": checks}
    return Response(body, status_code=503 if status == "unhealthy" else 200)
