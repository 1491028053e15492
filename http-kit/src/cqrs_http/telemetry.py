"""OpenTelemetry traces that follow one command across the services: the HTTP request
(Litestar's OpenTelemetry middleware), the event store append, the Kafka message (W3C
`traceparent` header), the projector's write, the Redis notification and the WebSocket
push all carry one trace id.

Spans are recorded once a tracer provider is installed: `install_tracing` installs one
that exports over OTLP when `telemetry.otlp_endpoint` is set (tests install their own,
with an in-memory exporter). Without one the API is a no-op and only the incoming
`traceparent` travels on.

With a provider installed the libraries' own calls are spans too (`instrument_libraries`:
the OpenTelemetry instrumentations of SQLAlchemy, Redis, pymongo and httpx), so one
command's trace shows its statements, its Redis and read-store calls and its webhooks.
They are installed with the provider, before the services build their clients (each
bootstrap calls `install_tracing` first): without one they would cost every call a
non-recording span for nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.plugins.opentelemetry import OpenTelemetryConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind

from cqrs_contracts.settings import TelemetrySettings

TRACER_NAME = "cqrs"


def install_tracing(settings: TelemetrySettings, service: str) -> None:
    """Export this process's spans over OTLP, when an endpoint is configured (once)."""
    if not (settings.enabled and settings.otlp_endpoint):
        return
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # already installed (by an earlier app in this process, or a test)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otlp_endpoint)))
    trace.set_tracer_provider(provider)
    instrument_libraries()


def instrument_libraries() -> None:
    """Spans for SQLAlchemy, Redis, pymongo and httpx calls, under the current span (once
    per process; clients built before it are traced too, except pymongo's and SQLAlchemy's,
    which must be built after it: pymongo's listener and SQLAlchemy's engine hooks are
    attached at creation, and engines are to be made with
    `sqlalchemy.ext.asyncio.create_async_engine` looked up at call time)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    for instrumentor in (
        SQLAlchemyInstrumentor(),
        RedisInstrumentor(),
        PymongoInstrumentor(),
        HTTPXClientInstrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            # SQLAlchemy 2.1 is past the range the instrumentation declares; its engine
            # events (what it hooks) are the same
            instrumentor.instrument(skip_dep_check=True)


def recording() -> bool:
    """Whether spans go anywhere: a real (SDK) tracer provider is installed, by
    `install_tracing` or by a test. Without one every span is a no-op."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def http_middleware(settings: TelemetrySettings) -> list[Any]:
    """A server span per request, continuing the caller's `traceparent` when it sends one.

    Litestar's OpenTelemetry middleware runs only while a tracer provider records spans
    (asked per request until one is installed: tests install theirs after the app is
    built). Until then a request costs nothing but, when the caller sent a traceparent,
    making it the current context, so log lines and the command's events carry the
    caller's trace as they did with the middleware's non-recording span."""
    if not settings.enabled:
        return []
    config = OpenTelemetryConfig()

    def middleware(app: ASGIApp) -> ASGIApp:
        traced = config.middleware_class(app=app, config=config)
        installed = False

        async def maybe_traced(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal installed
            if installed or recording():
                installed = True  # a provider, once installed, stays
                await traced(scope, receive, send)
                return
            parent = _traceparent(scope)
            if parent is None:
                await app(scope, receive, send)
                return
            token = context.attach(propagate.extract({"traceparent": parent}))
            try:
                await app(scope, receive, send)
            finally:
                context.detach(token)

        return maybe_traced

    return [middleware]


def _traceparent(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            return value.decode("latin-1")
    return None


def traceparent_now() -> str | None:
    """The current span's context as a W3C `traceparent` value (None: no trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def span_under(
    name: str,
    traceparent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, Any] | None = None,
) -> Iterator[Span]:
    """A current span named `name`, a child of `traceparent` when there is one."""
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes
    ) as span:
        yield span


def start_span_under(
    name: str, traceparent: str | None, kind: SpanKind = SpanKind.INTERNAL
) -> Span:
    """A span (not made current) to be ended by the caller: for work done for many
    messages at once, one span per message."""
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    return trace.get_tracer(TRACER_NAME).start_span(name, context=parent, kind=kind)


def traceparent_of(span: Span) -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")
