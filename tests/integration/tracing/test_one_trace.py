"""One command, one trace: the HTTP request, the Kafka publish, the projector's write and
the WebSocket push all share the trace id, each span a descendant of the request's."""

from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.query_service.helpers import new_user
from tests.integration.query_service.test_websocket import about, ack, next_matching
from tests.support.polling import eventually


class Recorder(SpanProcessor):
    """Keeps finished spans while switched on (the provider stays for the session)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.on = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.exporter.export([span])


_RECORDER = Recorder()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """An in-memory exporter behind the process's tracer provider, recording this test."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider.add_span_processor(_RECORDER)
    _RECORDER.exporter.clear()
    _RECORDER.on = True
    yield _RECORDER.exporter
    _RECORDER.on = False


async def wait_for(exporter: InMemorySpanExporter, name: str, trace_id: int) -> list[ReadableSpan]:
    """The finished `name` spans of the trace, once there is one (the loop keeps running
    while it waits: the spans are produced on it)."""

    async def found() -> list[ReadableSpan]:
        return [
            s
            for s in exporter.get_finished_spans()
            if s.name == name and s.context is not None and s.context.trace_id == trace_id
        ]

    try:
        return await eventually(found, timeout=10, what=f"a {name} span in {trace_id:032x}")
    except AssertionError as failure:
        names = sorted({s.name for s in exporter.get_finished_spans()})
        raise AssertionError(f"{failure}; spans seen: {names}") from failure


async def test_one_command_is_one_trace_from_http_to_the_websocket(
    spans: InMemorySpanExporter, commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    with await queries.websocket_connect("/ws?subscribe=UserReadModel") as ws:
        assert ack(ws)["type"] == "ack"
        uid, _ = await new_user(commands, name="Traced Tess", age=33)
        frame = next_matching(ws, about(uid))

    request = next(
        s
        for s in spans.get_finished_spans()
        if s.name.startswith("POST /api/v1/cqrs/commands") and s.parent is None
    )
    assert request.context is not None
    trace_id = request.context.trace_id
    append = await wait_for(spans, "event_store.append", trace_id)
    publish = await wait_for(spans, "kafka.publish", trace_id)
    project = await wait_for(spans, "projector.project", trace_id)
    push = await wait_for(spans, "websocket.push", trace_id)
    in_trace = {
        s.context.span_id: s
        for s in spans.get_finished_spans()
        if s.context and s.context.trace_id == trace_id
    }

    def ancestors(span: ReadableSpan) -> list[str]:
        chain = []
        while span.parent is not None and span.parent.span_id in in_trace:
            span = in_trace[span.parent.span_id]
            chain.append(span.name)
        return chain

    assert frame["traceparent"].split("-")[1] == f"{trace_id:032x}"
    assert ancestors(append[0])[-1] == request.name
    assert ancestors(publish[0])[-1] == request.name
    assert ancestors(project[0])[0] == "kafka.publish"
    assert ancestors(push[0])[:2] == ["projector.project", "kafka.publish"]
    assert ancestors(push[0])[-1] == request.name
