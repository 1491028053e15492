"""The query-service's health routes, each asserted on its own: GET /health (liveness,
the Kubernetes livenessProbe) and GET /api/v1/cqrs/health (readiness: the read store
and Redis answer a ping)."""

from litestar.testing import AsyncTestClient


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
    assert set(body["checks"]) == {"read_store", "cache"}
    for name, check in body["checks"].items():
        assert check["status"] == "up", (name, check)
        assert check["latency_ms"] >= 0
