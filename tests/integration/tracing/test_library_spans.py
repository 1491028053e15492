"""With a tracer provider and the libraries instrumented (what `install_tracing` does when
it exports), one command's trace holds its SQL statements, and one query's trace its
Redis cache lookup and its read-store call, in the request's trace."""

from collections.abc import AsyncIterator, Callable

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from command_service.entrypoints.http.app import create_app as create_command_app
from cqrs_contracts.settings import Settings
from cqrs_http.telemetry import instrument_libraries
from query_service.entrypoints.http.app import create_app as create_query_app
from tests.integration.query_service.helpers import ask, new_user
from tests.integration.tracing.test_one_trace import spans, wait_for
from tests.support.polling import eventually

INSTRUMENTORS = (
    SQLAlchemyInstrumentor,
    RedisInstrumentor,
    PymongoInstrumentor,
    HTTPXClientInstrumentor,
)

__all__ = ["spans"]


@pytest.fixture
async def traced_apps(
    spans: InMemorySpanExporter,
    make_settings: Callable[..., Settings],
    projector_settings: Settings,
) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:
    """A command-service and a query-service built after the libraries are instrumented
    (pymongo's listener and SQLAlchemy's hooks attach when a client is made)."""
    instrument_libraries()
    try:
        async with (
            AsyncTestClient(app=create_command_app(make_settings())) as commands,
            AsyncTestClient(app=create_query_app(projector_settings)) as queries,
        ):
            yield commands, queries
    finally:
        # the other tests' clients (httpx's test clients among them) stay as they were
        for instrumentor in INSTRUMENTORS:
            instrumentor().uninstrument()


def _system(span: ReadableSpan) -> str | None:
    attributes = span.attributes or {}
    found = attributes.get("db.system") or attributes.get("db.system.name")
    return str(found) if found is not None else None


async def _request_trace(exporter: InMemorySpanExporter, route: str) -> list[ReadableSpan]:
    """The spans of the last `route` request's trace, once its request span ended."""
    request = await eventually(
        lambda: _last_request(exporter, route), timeout=10, what=f"a {route} request span"
    )
    assert request.context is not None
    trace_id = request.context.trace_id
    return [
        s for s in exporter.get_finished_spans() if s.context and s.context.trace_id == trace_id
    ]


async def _last_request(exporter: InMemorySpanExporter, route: str) -> ReadableSpan | None:
    found = [
        s for s in exporter.get_finished_spans() if s.name.startswith(route) and s.parent is None
    ]
    return found[-1] if found else None


async def test_a_commands_trace_holds_its_database_spans(
    spans: InMemorySpanExporter, traced_apps: tuple[AsyncTestClient, AsyncTestClient]
) -> None:
    commands, _ = traced_apps
    spans.clear()
    await new_user(commands, name="Sequel Sal", age=40)
    in_trace = await _request_trace(spans, "POST /api/v1/cqrs/commands")
    sql = [s for s in in_trace if _system(s) == "mysql"]
    assert sql, sorted({s.name for s in in_trace})
    assert any("INSERT" in s.name or "INSERT" in str(s.attributes) for s in sql)
    await wait_for(spans, "event_store.append", in_trace[0].context.trace_id)


async def test_a_querys_trace_holds_its_cache_and_read_store_spans(
    spans: InMemorySpanExporter, traced_apps: tuple[AsyncTestClient, AsyncTestClient]
) -> None:
    commands, queries = traced_apps
    uid, _ = await new_user(commands, name="Mongo Mo", age=41)
    spans.clear()
    # never cached yet: a cache miss, then the read store (found or not, yet)
    answer = await ask(queries, "GetUser", {"id": uid})
    assert answer.status_code in {200, 404}, answer.text
    in_trace = await _request_trace(spans, "POST /api/v1/cqrs/queries")
    systems = {_system(s) for s in in_trace}
    assert {"redis", "mongodb"} <= systems, sorted((s.name, _system(s)) for s in in_trace)
