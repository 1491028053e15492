"""The whole system's verdict from its instances' health."""

from query_service.entrypoints.http.system import overall

SERVICES = ["command", "projector", "query"]


def instance(service: str, status: str) -> dict[str, str]:
    return {"service": service, "status": status}


def test_healthy_when_every_instance_is() -> None:
    instances = [instance(s, "healthy") for s in SERVICES]
    assert overall(instances, SERVICES) == "healthy"


def test_degraded_while_each_service_keeps_a_healthy_instance() -> None:
    instances = [
        *(instance(s, "healthy") for s in SERVICES),
        instance("query", "unreachable"),
    ]
    assert overall(instances, SERVICES) == "degraded"


def test_down_when_a_service_has_no_healthy_instance() -> None:
    instances = [
        instance("command", "unhealthy"),
        instance("projector", "healthy"),
        instance("query", "healthy"),
    ]
    assert overall(instances, SERVICES) == "down"
