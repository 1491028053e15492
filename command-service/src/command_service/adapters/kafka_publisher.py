"""Publishes outbox rows to Kafka with aiokafka, a batch at a time: key = stream id
(per-aggregate order on one partition), headers = event type, event id, schema version,
trace.

A relay batch becomes one Kafka record batch per partition (split when it outgrows
`max_batch_bytes`), submitted together and awaited together: no per-message future,
pipeline or span unless tracing is on. The producer is idempotent with acks=all, so its
own retries neither reorder nor duplicate a partition's records."""

import asyncio
from dataclasses import dataclass
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from cqrs_contracts.topics import HEADER_TRACEPARENT
from cqrs_http.telemetry import start_span_under, traceparent_of

CONTENT_TYPE = ("content-type", b"application/json")
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class OutboxMessage:
    outbox_id: int
    topic: str
    key: str
    payload: str
    headers: dict[str, str]


class KafkaProducer:
    """The relay's producer: connected in the app's (or the relay command's) start-up."""

    def __init__(self, bootstrap: str, timeout_s: float, max_batch_bytes: int = 512 * 1024) -> None:
        self._bootstrap = bootstrap
        self._timeout_ms = int(timeout_s * 1000)
        self._max_batch_bytes = max_batch_bytes
        self._producer: AIOKafkaProducer | None = None

    async def connect(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id="command-service-relay",
            acks="all",
            enable_idempotence=True,  # ordered, not duplicated by the producer's retries
            request_timeout_ms=self._timeout_ms,
            max_batch_size=self._max_batch_bytes,
            max_request_size=max(self._max_batch_bytes, 1024 * 1024),
            linger_ms=0,  # batches are complete when submitted
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def ping(self, timeout: float | None) -> bool:  # noqa: ASYNC109 (health's call)
        """Kafka answers a metadata request within `timeout` seconds."""
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
        except Exception:
            return False
        return True

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the Kafka producer is not connected")
        return self._producer


@lru_cache(maxsize=16384)
def _key_hash(key: bytes) -> int:
    """The Java client's (and aiokafka's default) partitioner hash."""
    return int(murmur2(key)) & 0x7FFFFFFF


def tracing_on() -> bool:
    """A tracer provider is installed (else every span would be a no-op)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


class KafkaPublisher:
    def __init__(self, kafka: KafkaProducer) -> None:
        self._kafka = kafka

    async def publish_all(self, messages: list[OutboxMessage]) -> None:
        """Send every message (in order) and wait until Kafka acknowledged all of them.
        With tracing on each message gets a producer span under the command's trace,
        whose context replaces the `traceparent` header: the projector's span continues
        from it."""
        spans = (
            [
                start_span_under(
                    "kafka.publish", m.headers.get(HEADER_TRACEPARENT), SpanKind.PRODUCER
                )
                for m in messages
            ]
            if tracing_on()
            else None
        )
        try:
            await self._send(messages, spans)
        finally:
            for span in spans or ():
                span.end()

    async def _send(self, messages: list[OutboxMessage], spans: list[Span] | None) -> None:
        producer = self._kafka.producer
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        acks: list[asyncio.Future[object]] = []
        for i, m in enumerate(messages):
            if m.topic not in partitions:
                partitions[m.topic] = sorted(await producer.partitions_for(m.topic))
            topic_partitions = partitions[m.topic]
            key = m.key.encode()
            partition = topic_partitions[_key_hash(key) % len(topic_partitions)]
            value = m.payload.encode()
            headers = _headers(m, spans[i] if spans else None)
            batch = open_batches.get((m.topic, partition))
            if batch is None:
                batch = open_batches[m.topic, partition] = producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                # full: this one leaves now (a partition's batches leave in order)
                acks.append(await producer.send_batch(batch, m.topic, partition=partition))
                batch = open_batches[m.topic, partition] = producer.create_batch()
                if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    raise ValueError(f"outbox row {m.outbox_id} is too large for Kafka")
        for (topic, partition), batch in open_batches.items():
            batch.close()  # complete: no linger
            acks.append(await producer.send_batch(batch, topic, partition=partition))
        # every ack awaited (none left unretrieved), then the first failure raised
        for outcome in await asyncio.gather(*acks, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome


def _headers(message: OutboxMessage, span: Span | None) -> Headers:
    headers = [(k, v.encode()) for k, v in message.headers.items()]
    if span is not None:
        traceparent = traceparent_of(span)
        if traceparent:
            headers = [h for h in headers if h[0] != HEADER_TRACEPARENT]
            headers.append((HEADER_TRACEPARENT, traceparent.encode()))
    headers.append(CONTENT_TYPE)
    return headers
