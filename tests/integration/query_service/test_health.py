"""The query-service's health routes, each asserted on its own: GET /health (liveness,
the Kubernetes livenessProbe) and GET /api/v1/cqrs/health (readiness: the read store
and Redis answer a ping; the event store, which only time travel needs, degrades)."""

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import answer, ask, new_user


async def test_liveness_is_200_with_its_body(queries: AsyncTestClient) -> None:
    response = await queries.get("/health")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "service": "query-service"}


async def test_readiness_is_200_when_the_read_store_and_redis_answer(
    queries: AsyncTestClient,
) -> None:
    response = await queries.get("/api/v1/cqrs/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["service"]) == ("healthy", "query-service")
    assert set(body["checks"]) == {"read_store", "cache", "event_store"}
    for name, check in body["checks"].items():
        assert check["status"] == "up", (name, check)
        assert check["latency_ms"] >= 0


async def test_without_the_event_store_it_is_degraded_and_only_time_travel_fails(
    commands: AsyncTestClient, queries: AsyncTestClient, query_client_with: Any
) -> None:
    uid, token = await new_user(commands)
    await answer(queries, "GetUser", {"id": uid}, token)  # projected
    async with query_client_with(DB_PORT="1", CQRS__DATABASE__MYSQL__CONNECT_TIMEOUT="1") as cut:
        health = await cut.get("/api/v1/cqrs/health")
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["status"] == "degraded"
        assert body["checks"]["event_store"]["status"] == "down"
        assert body["checks"]["read_store"]["status"] == "up"
        live = await ask(cut, "GetUser", {"id": uid})
        assert live.status_code == 200, live.text
        past = await ask(cut, "GetUser", {"id": uid, "as_of": 1})
        assert past.status_code == 503, past.text
        assert past.json()["error"]["code"] == "dependency_unavailable"
