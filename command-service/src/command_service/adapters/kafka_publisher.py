"""Publishes outbox rows to Kafka through FastStream: key = stream id (per-aggregate
order on one partition), headers = event type, event id, schema version, trace."""

import asyncio
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from opentelemetry.trace import Span, SpanKind

from cqrs_contracts.topics import HEADER_TRACEPARENT
from cqrs_http.telemetry import start_span_under, traceparent_of


@dataclass(frozen=True)
class OutboxMessage:
    outbox_id: int
    topic: str
    key: str
    payload: str
    headers: dict[str, str]


def make_broker(bootstrap: str, timeout_s: float) -> KafkaBroker:
    """A producer that keeps order per partition and never duplicates on its own retries."""
    return KafkaBroker(
        bootstrap,
        client_id="command-service-relay",
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=int(timeout_s * 1000),
        linger_ms=2,
    )


class KafkaPublisher:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish_all(self, messages: list[OutboxMessage]) -> None:
        """Send every message (in order) and wait until Kafka acknowledged all of them.
        Each message gets a producer span under the command's trace, whose context
        replaces the `traceparent` header: the projector's span continues from it."""
        spans = [
            start_span_under("kafka.publish", m.headers.get(HEADER_TRACEPARENT), SpanKind.PRODUCER)
            for m in messages
        ]
        try:
            pending = [
                await self._broker.publish(
                    m.payload.encode(),
                    m.topic,
                    key=m.key.encode(),
                    headers=_headers(m, span),
                    no_confirm=True,
                )
                for m, span in zip(messages, spans, strict=True)
            ]
            await asyncio.gather(*pending)
        finally:
            for span in spans:
                span.end()


def _headers(message: OutboxMessage, span: Span) -> dict[str, str]:
    headers = {**message.headers, "content-type": "application/json"}
    traceparent = traceparent_of(span)
    if traceparent:
        headers[HEADER_TRACEPARENT] = traceparent
    return headers
