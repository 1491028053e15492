"""The platform plugin: middleware present only when configured (CORS with origins, rate
limits when enabled, tracing when telemetry is on); with no tracer provider installed a
request's caller trace still travels on (log lines and the command's events carry it);
what the service passes to Litestar itself wins over the platform's defaults."""

from typing import Any

from litestar import Litestar, get
from litestar.testing import TestClient
from redis.asyncio import Redis

from cqrs_contracts.settings import load_settings
from cqrs_http import telemetry
from cqrs_http.errors import error_response
from cqrs_http.logs import trace_id
from cqrs_http.platform import PlatformPlugin

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Refused(Exception):
    pass


@get("/seen", sync_to_thread=False)
def seen() -> dict[str, str | None]:
    return {"trace_id": trace_id(), "traceparent": telemetry.traceparent_now()}


@get("/refused", sync_to_thread=False)
def refused() -> None:
    raise Refused("no")


def app(**env: str) -> Litestar:
    env.setdefault("CQRS__SECURITY__RATE_LIMITS__ENABLED", "false")
    plugin = PlatformPlugin(load_settings(env=env), Redis(), "svc")
    return Litestar(
        route_handlers=[seen, refused],
        exception_handlers={Refused: lambda _, exc: error_response(409, "conflict", str(exc))},
        plugins=[plugin],
    )


def test_cors_only_with_origins() -> None:
    assert app().cors_config is not None  # the default: "*"
    assert app(CQRS__SECURITY__CORS_ALLOW_ORIGINS="").cors_config is None


def test_rate_limits_and_tracing_only_when_on() -> None:
    on = app(CQRS__SECURITY__RATE_LIMITS__ENABLED="true").middleware
    off = app(CQRS__TELEMETRY__ENABLED="false").middleware
    assert len(on) == len(off) + 2


def test_the_services_own_error_handler_wins_and_metrics_are_served() -> None:
    with TestClient(app()) as client:
        answer = client.get("/refused")
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "conflict"
        assert client.get("/nowhere").json()["error"]["code"] == "not_found"
        assert client.get("/seen").headers["X-Served-By"] == "svc"
        assert "cqrs_request" in client.get("/metrics").text


def test_without_a_tracer_provider_the_callers_trace_travels_on(monkeypatch: Any) -> None:
    monkeypatch.setattr(telemetry, "recording", lambda: False)
    parent = f"00-{TRACE}-00f067aa0ba902b7-01"
    with TestClient(app()) as client:
        assert client.get("/seen", headers={"traceparent": parent}).json() == {
            "trace_id": TRACE,
            "traceparent": parent,
        }
        assert client.get("/seen").json() == {"trace_id": None, "traceparent": None}
