"""The outbox relay against real Kafka: keys, headers, per-stream order; and two relays
sharing one outbox deliver every event exactly once."""

import asyncio
import json
from collections import Counter

from aiokafka import ConsumerRecord
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.adapters.outbox_rows import OUTBOX_SHARDS
from command_service.adapters.tables import events
from command_service.bootstrap import build
from command_service.entrypoints.http.app import create_app
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import (
    accept,
    create_order,
    create_user,
    kafka_headers,
    outbox_count,
    pay,
    read_topic,
    wait_until,
)
from tests.support.services import Endpoints


def event_ids(records: list[ConsumerRecord]) -> list[str]:
    return [kafka_headers(r)["event-id"] for r in records]


async def test_every_event_reaches_kafka_keyed_by_stream_in_version_order(
    client: AsyncTestClient, endpoints: Endpoints, kafka_topics: dict[str, str]
) -> None:
    answers = [user := await create_user(client, age=20)]
    user_id = user["aggregate_id"]
    answers += [await accept(client, "UpdateUser", {"id": user_id, "age": a}) for a in (21, 22)]
    answers.append(order := await create_order(client, user_id, "50.00"))
    answers.append(await pay(client, order["aggregate_id"], "20.00"))
    answers.append(await pay(client, order["aggregate_id"], "30.00"))
    sent = {e["event_id"]: e for a in answers for e in a["events"]}
    assert len(sent) == 8  # user 3, order 1, two payments 2 each

    records = await read_topic(
        endpoints.kafka_brokers,
        kafka_topics["events"],
        until=lambda got: set(sent) <= set(event_ids(got)),
    )

    ours = [r for r in records if kafka_headers(r)["event-id"] in sent]
    assert len(ours) == len(sent)  # each once
    versions: dict[str, list[int]] = {}
    for record in ours:
        event = sent[kafka_headers(record)["event-id"]]
        assert record.key.decode() == event["stream_id"]
        assert (
            kafka_headers(record).items()
            >= {
                "event-type": event["type"],
                "event-id": event["event_id"],
                "schema-version": str(event["schema_version"]),
            }.items()
        )
        payload = json.loads(record.value)
        assert (payload["event_id"], payload["version"]) == (event["event_id"], event["version"])
        versions.setdefault(event["stream_id"], []).append(event["version"])
    assert versions[user_id] == [1, 2, 3]
    assert versions[order["aggregate_id"]] == [1, 2, 3]


async def test_two_relays_deliver_a_filled_outbox_exactly_once(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    filling = private_store.settings(CQRS__COMMAND_SERVICE__RELAY_ENABLED="false")
    async with AsyncTestClient(app=create_app(filling)) as c:
        for _ in range(20):
            user_id = (await create_user(c, age=20))["aggregate_id"]
            for age in (21, 22, 23):
                await accept(c, "UpdateUser", {"id": user_id, "age": age})
    engine = create_async_engine(private_store.url)
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(events.c.event_id))).scalars())
    assert len(stored) == 80
    assert await outbox_count(engine) == 80

    relays = [
        build(private_store.settings(CQRS__COMMAND_SERVICE__RELAY_BATCH_SIZE="7")) for _ in range(2)
    ]
    await asyncio.gather(*(r.broker.connect() for r in relays))
    tasks = [asyncio.create_task(r.relay.run()) for r in relays]
    try:
        await wait_until(lambda: _is_empty(engine), within=30, what="the outbox to empty")
        assert not any(t.done() for t in tasks), "a relay stopped"
        first, second = (r.relay.owned_shards for r in relays)
        assert first.isdisjoint(second)
        assert first | second == set(range(OUTBOX_SHARDS))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in relays:
            await r.broker.stop()
            await r.engine.dispose()
        await engine.dispose()

    assert sum(r.relay.published for r in relays) == 80
    records = await read_topic(endpoints.kafka_brokers, private_store.topic)
    assert Counter(event_ids(records)) == Counter(stored)  # every event, each exactly once


async def _is_empty(engine: AsyncEngine) -> bool:
    return await outbox_count(engine) == 0
