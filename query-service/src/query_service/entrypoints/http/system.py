"""The whole system's health and stats (the gateway's /api/v1/cqrs/health and /stats):
every instance of every service (`system.services`) asked at once, each within
`system.timeout`, and the answers reported side by side.

Overall health: healthy when every instance is; degraded when each service still has a
healthy (or degraded: serving) instance; down when some service has none (then 503).
`failing` names the rest."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from cqrs_http.auth import READER
from cqrs_http.logs import request_id_var
from query_service.adapters.service_probe import Reply, ask_all
from query_service.bootstrap import Container

FORWARDED = ("authorization",)


async def _ask_every_instance(
    request: Request[Any, Any, Any], container: Container, path: str
) -> list[Reply]:
    """The caller's token and request id go along: each service checks the one and logs
    the other."""
    headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
    if rid := request_id_var.get():
        headers["x-request-id"] = rid
    system = container.settings.system
    return await ask_all(system.services, path, system.timeout, headers)


def _health_of(reply: Reply) -> dict[str, Any]:
    status = "unreachable" if reply.body is None else str(reply.body.get("status", "unhealthy"))
    entry: dict[str, Any] = {
        "service": reply.service,
        "url": reply.url,
        "status": status,
        "latency_ms": reply.latency_ms,
    }
    if reply.body is not None and "checks" in reply.body:
        entry["checks"] = reply.body["checks"]
    if reply.error:
        entry["error"] = reply.error
    return entry


def overall(instances: list[dict[str, Any]], services: list[str]) -> str:
    if all(i["status"] == "healthy" for i in instances):
        return "healthy"
    # a degraded instance (the query-service without the event store) still serves
    healthy = {i["service"] for i in instances if i["status"] in ("healthy", "degraded")}
    return "degraded" if healthy >= set(services) else "down"


@get("/api/v1/cqrs/system/health", tags=["health"], summary="Health of every service instance")
async def system_health(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> Response[dict[str, Any]]:
    replies = await _ask_every_instance(request, container, "/api/v1/cqrs/health")
    instances = [_health_of(r) for r in replies]
    services = [s for s, urls in container.settings.system.services.items() if urls]
    status = overall(instances, services)
    body = {
        "status": status,
        "failing": [f"{i['service']}@{i['url']}" for i in instances if i["status"] != "healthy"],
        "services": instances,
    }
    return Response(body, status_code=503 if status == "down" else 200)


@get(
    "/api/v1/cqrs/system/stats",
    tags=["health"],
    summary="Statistics of every service instance",
    guards=[READER],
)
async def system_stats(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> dict[str, Any]:
    replies = await _ask_every_instance(request, container, "/api/v1/cqrs/stats")
    services: dict[str, list[dict[str, Any]]] = {}
    for reply in replies:
        entry: dict[str, Any] = {"url": reply.url, "latency_ms": reply.latency_ms}
        if reply.status_code == 200 and reply.body is not None:
            entry |= {"status": "ok", "stats": reply.body}
        else:
            error = reply.error or (reply.body or {}).get("error") or f"HTTP {reply.status_code}"
            entry |= {"status": "unavailable", "error": error}
        services.setdefault(reply.service, []).append(entry)
    answering = sum(e["status"] == "ok" for entries in services.values() for e in entries)
    return {"instances": len(replies), "answering": answering, "services": services}
