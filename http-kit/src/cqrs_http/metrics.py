"""Prometheus metrics per request (Litestar's metric names and labels: requests, errors,
duration histogram, in flight; by method, route template, status and app), with each
label set's children looked up once: prometheus_client's `labels()` takes a lock and
converts every value on each call, five times per request in Litestar's middleware.

Also: `Children`, the same cache for the services' own metrics, and `MetricsController`,
the /metrics endpoint, which refreshes the scrape-time gauges before it renders."""

import time
from typing import Any, Generic, TypeVar

from litestar import Response, get
from litestar.plugins.prometheus import (
    PrometheusConfig,
    PrometheusController,
    PrometheusMiddleware,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from cqrs_http.scrape_gauges import refresh_all

M = TypeVar("M")

LABELS = ("method", "path", "status_code", "app_name")


class Metrics(PrometheusMiddleware):
    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app=app, config=config)
        self._by_route: dict[tuple[str, str], Any] = {}  # -> the in-flight gauge's child
        self._by_status: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def _in_flight(self, method: str, path: str) -> Any:
        labels: dict[str, str | int | float] = dict.fromkeys(LABELS, "")
        child = self.requests_in_progress(labels).labels(method, path, 200, self._config.app_name)
        self._by_route[method, path] = child
        return child

    def _finished(self, method: str, path: str, status: int) -> tuple[Any, Any, Any]:
        labels: dict[str, str | int | float] = dict.fromkeys(LABELS, "")
        values = (method, path, status, self._config.app_name)
        errors = self.requests_error_count(labels).labels(*values) if status >= 500 else None
        children = (
            self.request_count(labels).labels(*values),
            self.request_time(labels).labels(*values),
            errors,
        )
        self._by_status[method, path, status] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info: dict[str, Any] = scope  # type: ignore[assignment]
        method = info["method"] if info["type"] == "http" else info["type"]
        path = info["path_template"] if self._config.group_path else info["path"]
        in_flight = self._by_route.get((method, path)) or self._in_flight(method, path)
        started = time.perf_counter()
        span = [200, 0.0]  # status, duration (to the last body message, as Litestar's)

        async def measured(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        in_flight.inc()
        try:
            await self.app(scope, receive, measured)
        finally:
            in_flight.dec()
            status = int(span[0])
            count, duration, errors = self._by_status.get((method, path, status)) or self._finished(
                method, path, status
            )
            if errors is not None:
                errors.inc()
            count.inc()
            duration.observe(span[1])


class Children(dict[Any, M], Generic[M]):
    """A labelled metric's children by label values, each looked up once:
    `commands[type, outcome].inc()` is a dict lookup and the increment (prometheus_client's
    `labels()` takes a lock and converts every value on each call)."""

    def __init__(self, metric: M) -> None:
        super().__init__()
        self.metric = metric

    def __missing__(self, key: Any) -> M:
        values = key if isinstance(key, tuple) else (key,)
        child: M = self.metric.labels(*values)  # type: ignore[attr-defined]
        self[key] = child
        return child


class MetricsController(PrometheusController):
    """GET /metrics: the default registry, after the scrape-time gauges are refreshed
    (each within its time bound, and not again within a second)."""

    @get()
    async def get(self) -> Response:  # type: ignore[type-arg]
        await refresh_all()
        headers = {"Content-Type": CONTENT_TYPE_LATEST}
        return Response(generate_latest(REGISTRY), status_code=200, headers=headers)
