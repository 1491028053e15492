"""The dead-letter topic: events that kept failing, with the error, listed and re-driven.

An entry keeps the original message bytes and key, plus headers naming the error and
where it came from. Re-driving republishes it to the events topic; the projector's
per-stream versions make a second delivery harmless."""

import json
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from cqrs_contracts import topics
from projector.application.consumer import Message


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    error: str
    source: str
    event_id: str | None
    event_type: str | None
    payload: dict[str, Any] | str

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"


def dlq_headers(original: dict[str, str], error: str, source: str) -> dict[str, str]:
    return {**original, topics.HEADER_ERROR: error[:2000], "dlq-source": source}


@dataclass(frozen=True)
class DeadLetterTopic:
    """Where a consumer sends what kept failing, through a (started) broker."""

    broker: KafkaBroker
    topic: str

    async def send(self, message: Message, error: str) -> None:
        """The original bytes and key; its headers plus the error and where it came from."""
        source = f"{message.topic}:{message.partition}:{message.offset}"
        headers = {
            k: v.decode(errors="replace")
            for k, v in (message.headers or ())
            if isinstance(v, bytes)
        }
        await self.broker.publish(
            message.value, self.topic, key=message.key, headers=dlq_headers(headers, error, source)
        )


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [
        TopicPartition(topic, p["partition"])
        for t in described
        if t.get("error_code", 0) == 0
        for p in t.get("partitions", [])
    ]


async def read_dead_letters(bootstrap: str, topic: str, limit: int = 1000) -> list[DeadLetter]:
    """Every entry on the dead-letter topic (oldest first), without joining a group."""
    partitions = await _partitions(bootstrap, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        entries: list[DeadLetter] = []
        while len(entries) < limit and any(
            [await consumer.position(p) < ends[p] for p in partitions]
        ):
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batch.values():
                entries.extend(_entry(r) for r in records)
        return sorted(entries, key=lambda e: (e.partition, e.offset))[:limit]
    finally:
        await consumer.stop()


def _entry(record: Any) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in record.headers or []}
    try:
        payload: dict[str, Any] | str = json.loads(record.value)
    except (ValueError, TypeError):
        payload = (record.value or b"").decode(errors="replace")
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode() if record.key else None,
        error=headers.get(topics.HEADER_ERROR, ""),
        source=headers.get("dlq-source", ""),
        event_id=headers.get(topics.HEADER_EVENT_ID),
        event_type=headers.get(topics.HEADER_EVENT_TYPE),
        payload=payload,
    )


async def redrive(broker: KafkaBroker, entry: DeadLetter, events_topic: str) -> None:
    """Publish the entry's original message to the events topic again."""
    body = entry.payload if isinstance(entry.payload, str) else json.dumps(entry.payload)
    headers = {"content-type": "application/json", "dlq-redrive": entry.ref}
    if entry.event_id:
        headers[topics.HEADER_EVENT_ID] = entry.event_id
    if entry.event_type:
        headers[topics.HEADER_EVENT_TYPE] = entry.event_type
    key = entry.key.encode() if entry.key else None
    await broker.publish(body.encode(), events_topic, key=key, headers=headers)
