"""Publishes outbox rows to Kafka through FastStream: key = stream id (per-aggregate
order on one partition), headers = event type, event id, schema version, trace."""

import asyncio
from dataclasses import dataclass

from faststream.kafka import KafkaBroker


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
        """Send every message (in order) and wait until Kafka acknowledged all of them."""
        pending = [
            await self._broker.publish(
                m.payload.encode(),
                m.topic,
                key=m.key.encode(),
                headers={**m.headers, "content-type": "application/json"},
                no_confirm=True,
            )
            for m in messages
        ]
        await asyncio.gather(*pending)
