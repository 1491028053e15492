"""Middleware present only when configured: CORS with origins, rate limits when enabled,
tracing when telemetry is on; and with no tracer provider installed a request's caller
trace still travels on (log lines and the command's events carry it)."""

from typing import Any

from litestar import Litestar, get
from litestar.testing import TestClient
from redis.asyncio import Redis

from cqrs_contracts.settings import load_settings
from cqrs_http import telemetry
from cqrs_http.logs import trace_id
from cqrs_http.platform import platform_kwargs

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def kwargs(**env: str) -> dict[str, Any]:
    return platform_kwargs(load_settings(env=env), Redis(), "svc")


def test_cors_only_with_origins() -> None:
    assert kwargs()["cors_config"] is not None  # the default: "*"
    assert kwargs(CQRS__SECURITY__CORS_ALLOW_ORIGINS="")["cors_config"] is None


def test_rate_limits_and_tracing_only_when_on() -> None:
    on = kwargs()["middleware"]
    off = kwargs(CQRS__SECURITY__RATE_LIMITS__ENABLED="false", CQRS__TELEMETRY__ENABLED="false")[
        "middleware"
    ]
    assert len(on) == len(off) + 2


def test_without_a_tracer_provider_the_callers_trace_travels_on(monkeypatch: Any) -> None:
    monkeypatch.setattr(telemetry, "recording", lambda: False)

    @get("/seen", sync_to_thread=False)
    def seen() -> dict[str, str | None]:
        return {"trace_id": trace_id(), "traceparent": telemetry.traceparent_now()}

    kit = kwargs(CQRS__SECURITY__RATE_LIMITS__ENABLED="false")
    app = Litestar(route_handlers=[seen, *kit.pop("route_handlers")], **kit)
    parent = f"00-{TRACE}-00f067aa0ba902b7-01"
    with TestClient(app) as client:
        assert client.get("/seen", headers={"traceparent": parent}).json() == {
            "trace_id": TRACE,
            "traceparent": parent,
        }
        assert client.get("/seen").json() == {"trace_id": None, "traceparent": None}
