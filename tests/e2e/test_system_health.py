"""The gateway answers /api/v1/cqrs/health and /stats for the whole system (the query
service asks every instance) and each service's own under /health/<service>."""

import httpx

from tests.support.system import System


async def test_the_gateway_reports_the_whole_systems_health(
    gateway: httpx.AsyncClient, system: System
) -> None:
    answer = await gateway.get("/api/v1/cqrs/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "healthy", body["failing"]
    services = sorted((s["service"], s["status"]) for s in body["services"])
    assert services == [
        ("command", "healthy"),
        ("projector", "healthy"),
        ("query", "healthy"),
        ("query", "healthy"),
    ]
    assert {s["url"] for s in body["services"] if s["service"] == "query"} == set(
        system.query_replicas
    )


async def test_the_gateway_reports_the_whole_systems_stats(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.get("/api/v1/cqrs/stats")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["instances"] == body["answering"] == 4
    assert set(body["services"]) == {"command", "projector", "query"}
    assert "outbox_backlog" in body["services"]["command"][0]["stats"]
    assert "consumer_lag" in body["services"]["projector"][0]["stats"]


async def test_each_services_own_health_stays_reachable(gateway: httpx.AsyncClient) -> None:
    for service, name in (
        ("command", "command-service"),
        ("query", "query-service"),
        ("projector", "projector"),
    ):
        health = await gateway.get(f"/api/v1/cqrs/health/{service}")
        assert health.status_code == 200, health.text
        assert health.json()["service"] == name
        stats = await gateway.get(f"/api/v1/cqrs/stats/{service}")
        assert stats.status_code == 200, stats.text
        assert stats.json()["service"] == name
