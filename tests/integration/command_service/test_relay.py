"""The outbox relay against real Kafka: keys, headers, per-stream order; two relays
sharing one outbox deliver every event exactly once; a commit wakes the relay, polling
finds rows nobody woke it for, and a deep outbox leaves in batches."""

import asyncio
import functools
import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.adapters.kafka_publisher import KafkaPublisher, OutboxMessage
from command_service.adapters.outbox_relay import OutboxRelay, Publisher
from command_service.adapters.outbox_rows import OUTBOX_SHARDS
from command_service.adapters.write_store import SqlWriteStore
from command_service.bootstrap import build
from command_service.entrypoints.http.app import create_app
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_event_store.tables import events
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import (
    accept,
    create_order,
    create_user,
    kafka_headers,
    outbox_count,
    pay,
    read_topic,
    topic_size,
)
from tests.support.polling import eventually
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
        await eventually(lambda: _is_empty(engine), timeout=30, what="the outbox to empty")
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


async def _published(relay: OutboxRelay, count: int) -> bool:
    """The relay has sent `count` rows and committed their delete."""
    return relay.published == count


def _has(event_id: str) -> Callable[[list[ConsumerRecord]], bool]:
    return lambda records: event_id in event_ids(records)


async def test_a_commit_wakes_the_relay_long_before_its_poll_interval(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    settings = private_store.settings(CQRS__COMMAND_SERVICE__RELAY_POLL_INTERVAL="30s")
    engine = create_async_engine(private_store.url)
    try:
        async with AsyncTestClient(app=create_app(settings)) as c:
            await create_user(c)
            # once the first event has left, the relay sleeps up to 30 s between passes
            await eventually(lambda: _is_empty(engine), timeout=10, what="the first event")
            [event] = (await create_user(c))["events"]
            brokers, topic = endpoints.kafka_brokers, private_store.topic
            await read_topic(brokers, topic, until=_has(event["event_id"]), within=5)
    finally:
        await engine.dispose()


async def test_a_row_committed_without_a_wake_is_found_by_polling(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    container = build(private_store.settings(CQRS__COMMAND_SERVICE__RELAY_POLL_INTERVAL="0.2s"))
    writer = SqlWriteStore(container.engine, private_store.topic, snapshot_every=0)
    await container.broker.connect()
    task = asyncio.create_task(container.relay.run())
    try:
        # two rows, each written after the one before has left: the second cannot ride
        # on the relay's start-up pass, and nothing wakes the relay, so a poll found it
        for sent in (1, 2):
            async with writer.session() as session:
                stored = await session.append_raw(_user_created(), expected_version=0)
            await read_topic(
                endpoints.kafka_brokers, private_store.topic, until=_has(stored.event_id)
            )
            await eventually(
                functools.partial(_published, container.relay, sent), timeout=10, what="the delete"
            )
        assert not task.done(), "the relay stopped"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await container.broker.stop()
        await container.engine.dispose()


class RecordingPublisher:
    """The real Kafka publisher, remembering the size of every batch it was given."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self.batches: list[int] = []

    async def publish_all(self, messages: list[OutboxMessage]) -> None:
        self.batches.append(len(messages))
        await self._publisher.publish_all(messages)


async def test_a_deep_outbox_is_drained_in_batches_of_relay_batch_size(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    filling = private_store.settings(CQRS__COMMAND_SERVICE__RELAY_ENABLED="false")
    async with AsyncTestClient(app=create_app(filling)) as c:
        user_id = (await create_user(c, age=20))["aggregate_id"]
        for age in range(21, 37):
            await accept(c, "UpdateUser", {"id": user_id, "age": age})
    container = build(private_store.settings())
    assert await outbox_count(container.engine) == 17

    publisher = RecordingPublisher(KafkaPublisher(container.broker))
    relay = OutboxRelay(container.engine, publisher, batch_size=7, poll_interval=30)
    await container.broker.connect()
    task = asyncio.create_task(relay.run())
    try:
        # a full batch is followed at once by the next: no 30 s poll in between
        await eventually(lambda: _is_empty(container.engine), timeout=10, what="the outbox")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await container.broker.stop()
        await container.engine.dispose()
    assert publisher.batches == [7, 7, 3]
    assert await topic_size(endpoints.kafka_brokers, private_store.topic) == 17


def _user_created() -> EventEnvelope:
    user_id = str(uuid.uuid4())
    data = {"user_id": user_id, "name": "Polly", "email": f"{user_id}@example.com", "age": 30}
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=user_id,
        version=0,  # set by the store
        type="UserCreated",
        schema_version=2,
        data=data | {"created_at": datetime.now(UTC).isoformat()},
        occurred_at=datetime.now(UTC),
    )


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _user_updated(user_id: str, age: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=user_id,
        version=0,  # set by the store
        type="UserUpdated",
        schema_version=1,
        data={"user_id": user_id, "age": age, "updated_at": datetime.now(UTC).isoformat()},
        metadata=EventMetadata(actor="relay-test", traceparent=TRACEPARENT),
        occurred_at=datetime.now(UTC),
    )


async def test_a_pass_bigger_than_one_kafka_batch_leaves_split_in_order_with_its_headers(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    # 16 KiB Kafka batches: 120 events (one pass) need several per partition
    container = build(private_store.settings(CQRS__COMMAND_SERVICE__RELAY_MAX_BATCH_BYTES="16384"))
    writer = SqlWriteStore(container.engine, private_store.topic, snapshot_every=0)
    streams = [str(uuid.uuid4()) for _ in range(3)]
    sent: dict[str, EventEnvelope] = {}
    for user_id in streams:
        async with writer.session() as session:
            for version in range(40):
                stored = await session.append_raw(
                    _user_updated(user_id, version), expected_version=version
                )
                sent[stored.event_id] = stored
    assert await outbox_count(container.engine) == 120

    await container.broker.connect()
    task = asyncio.create_task(container.relay.run())
    try:
        await eventually(lambda: _is_empty(container.engine), timeout=30, what="the outbox")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await container.broker.stop()
        await container.engine.dispose()

    records = await read_topic(endpoints.kafka_brokers, private_store.topic)
    assert Counter(event_ids(records)) == Counter(sent.keys())  # each once
    versions: dict[str, list[int]] = {}
    for record in records:
        headers = kafka_headers(record)
        event = sent[headers["event-id"]]
        assert record.key.decode() == event.stream_id
        assert headers["event-type"] == "UserUpdated"
        assert headers["schema-version"] == "1"
        assert headers["content-type"] == "application/json"
        # the command's trace goes on: its traceparent, or (tracing on) a child span's
        assert headers["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]
        versions.setdefault(record.key.decode(), []).append(json.loads(record.value)["version"])
    assert versions == {s: list(range(1, 41)) for s in streams}
