"""FastStream KafkaBroker publish + subscriber in a consumer group, against real Kafka."""

import asyncio

from faststream.kafka import KafkaBroker

from tests.support.services import Endpoints


async def test_publish_reaches_group_subscriber(
    endpoints: Endpoints, kafka_topics: dict[str, str], run_id: str
) -> None:
    topic = kafka_topics["events"]
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    broker = KafkaBroker(endpoints.kafka_brokers)

    @broker.subscriber(topic, group_id=f"smoke-{run_id}", auto_offset_reset="earliest")
    async def on_event(body: dict[str, str]) -> None:
        await received.put(body)

    async with broker:
        await broker.start()
        await broker.publish({"hello": "kafka"}, topic, key=b"aggregate-1")
        body = await asyncio.wait_for(received.get(), timeout=60)
    assert body == {"hello": "kafka"}
