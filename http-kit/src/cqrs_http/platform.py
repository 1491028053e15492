"""`PlatformPlugin`: the shared platform every service's Litestar app is built on, as a
Litestar init plugin (`Litestar(route_handlers=[...], plugins=[PlatformPlugin(...)])`).

Each middleware is there only when its setting asks for it: tracing when telemetry is on
(and then recording only once a tracer provider is installed), CORS when origins are
configured, rate limits when enabled. What a service passes to `Litestar(...)` itself
(exception handlers, CORS, state) wins over the platform's defaults."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litestar.config.app import AppConfig
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cqrs_contracts.settings import Settings
from cqrs_http import ws_token
from cqrs_http.auth import jwt_auth
from cqrs_http.errors import on_dependency_down, on_http_error, on_timeout, on_unexpected
from cqrs_http.json_depth import json_depth_limit
from cqrs_http.limits import UNLIMITED, rate_limits
from cqrs_http.logs import litestar_logging
from cqrs_http.metrics import Metrics, MetricsController
from cqrs_http.request_context import install
from cqrs_http.telemetry import http_middleware, install_tracing
from cqrs_http.timeouts import request_timeout


@dataclass(eq=False)
class PlatformPlugin(InitPluginProtocol):
    """Auth, rate limits, CORS, compression, body and time limits, the error shape,
    Prometheus metrics (`/metrics`), request ids and structured logs. Redis (the
    rate-limit counters) being down is always a 503; `dependency_errors` add the
    service's own (its database, its broker)."""

    settings: Settings
    redis: Redis
    service: str
    dependency_errors: tuple[type[Exception], ...] = ()

    @property
    def request_max_body_size(self) -> int:
        """Pass it to `Litestar(request_max_body_size=...)`: Litestar (2.x) reads the
        body limit from its own argument, not from what an init plugin sets."""
        return self.settings.security.max_body_bytes

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        security = self.settings.security
        metrics = PrometheusConfig(
            app_name=self.service,
            prefix="cqrs",
            group_path=True,
            exclude=["^/metrics$"],
            middleware_class=Metrics,
        )
        install_tracing(self.settings.telemetry, self.service)
        app_config.route_handlers.append(MetricsController)
        app_config.middleware[:0] = [
            *http_middleware(self.settings.telemetry),
            metrics.middleware,
            request_timeout(security.request_timeout),
            *rate_limits(security, self.redis, self.settings.redis.prefix),
            json_depth_limit(security.max_json_depth, security.max_body_bytes),
        ]
        app_config.exception_handlers = {**self._error_handlers(), **app_config.exception_handlers}
        origins = [o for o in security.cors_allow_origins if o]
        if app_config.cors_config is None and origins:
            app_config.cors_config = CORSConfig(allow_origins=origins)
        # small answers (health, most commands and single reads) are sent as they are;
        # the liveness and health probes never compress
        app_config.compression_config = app_config.compression_config or CompressionConfig(
            backend="gzip", minimum_size=1024, exclude=UNLIMITED[:3]
        )
        # which service answered: behind the gateway, routing is visible to clients
        served_by = ResponseHeader(name="X-Served-By", value=self.service)
        app_config.response_headers = [served_by, *_headers(app_config.response_headers)]
        app_config.state["auth_enabled"] = security.auth_enabled
        app_config.logging_config = litestar_logging(self.settings.logging, self.service)
        app_config.on_startup[:0] = [install(self.settings.logging.access_log), ws_token.install()]
        auth = jwt_auth(security)
        return auth.on_app_init(app_config) if auth else app_config

    def _error_handlers(self) -> dict[Any, Any]:
        handlers: dict[Any, Any] = {HTTPException: on_http_error, TimeoutError: on_timeout}
        handlers.update(dict.fromkeys((RedisError, *self.dependency_errors), on_dependency_down))
        handlers[Exception] = on_unexpected
        return handlers


def _headers(given: Sequence[ResponseHeader] | Mapping[str, str]) -> list[ResponseHeader]:
    if isinstance(given, Mapping):
        return [ResponseHeader(name=k, value=v) for k, v in given.items()]
    return list(given)
