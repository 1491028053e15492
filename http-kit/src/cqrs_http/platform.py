"""`platform_kwargs`: what every service passes to `Litestar(...)` on top of its routes.

Each middleware is there only when its setting asks for it: tracing when telemetry is on
(and then recording only once a tracer provider is installed), CORS when origins are
configured, rate limits when enabled."""

from typing import Any

from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import ResponseHeader, State
from litestar.exceptions import HTTPException
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cqrs_contracts.settings import Settings
from cqrs_http import ws_token
from cqrs_http.auth import jwt_auth
from cqrs_http.errors import on_dependency_down, on_http_error, on_timeout, on_unexpected
from cqrs_http.json_depth import json_depth_limit
from cqrs_http.limits import UNLIMITED, rate_limits
from cqrs_http.logs import litestar_logging
from cqrs_http.metrics import Metrics
from cqrs_http.request_context import install
from cqrs_http.telemetry import http_middleware, install_tracing
from cqrs_http.timeouts import request_timeout


def platform_kwargs(
    settings: Settings,
    redis: Redis,
    service: str,
    dependency_errors: tuple[type[Exception], ...] = (),
) -> dict[str, Any]:
    """Auth, rate limits, CORS, compression, body and time limits, the error shape,
    Prometheus metrics, request ids and structured logs. Pass
    `route_handlers=[*yours, *kwargs.pop("route_handlers")]`. Redis (the rate-limit
    counters) being down is always a 503; `dependency_errors` add the service's own."""
    security = settings.security
    auth = jwt_auth(security)
    metrics = PrometheusConfig(
        app_name=service,
        prefix="cqrs",
        group_path=True,
        exclude=["^/metrics$"],
        middleware_class=Metrics,
    )
    install_tracing(settings.telemetry, service)
    middleware: list[Any] = [
        *http_middleware(settings.telemetry),
        metrics.middleware,
        request_timeout(security.request_timeout),
        *rate_limits(security, redis, settings.redis.prefix),
        json_depth_limit(security.max_json_depth, security.max_body_bytes),
    ]
    handlers: dict[Any, Any] = {HTTPException: on_http_error, TimeoutError: on_timeout}
    handlers.update(dict.fromkeys((RedisError, *dependency_errors), on_dependency_down))
    handlers[Exception] = on_unexpected
    origins = [o for o in security.cors_allow_origins if o]
    return {
        "route_handlers": [PrometheusController],
        "middleware": middleware,
        "on_app_init": [auth.on_app_init] if auth else [],
        "cors_config": CORSConfig(allow_origins=origins) if origins else None,
        # small answers (health, most commands and single reads) are sent as they are;
        # the liveness and health probes never compress
        "compression_config": CompressionConfig(
            backend="gzip", minimum_size=1024, exclude=UNLIMITED[:3]
        ),
        "request_max_body_size": security.max_body_bytes,
        # which service answered: behind the gateway, routing is visible to clients
        "response_headers": [ResponseHeader(name="X-Served-By", value=service)],
        "exception_handlers": handlers,
        "state": State({"auth_enabled": security.auth_enabled}),
        "logging_config": litestar_logging(settings.logging, service),
        "on_startup": [install(settings.logging.access_log), ws_token.install()],
    }
