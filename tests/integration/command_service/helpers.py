"""Small helpers shared by the command-service integration tests."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import PrivacySettings, Settings
from cqrs_event_store import tables
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from tests.support.polling import eventually

COMMANDS = "/api/v1/cqrs/commands"
EVENTS = "/api/v1/cqrs/events"


def unique_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


# --- commands --------------------------------------------------------------------------


async def command(
    client: httpx.AsyncClient, type_: str, data: dict[str, Any], **envelope: Any
) -> httpx.Response:
    """POST one command; `envelope` adds id, expected_version, idempotency_key, ..."""
    return await client.post(COMMANDS, json={"type": type_, "data": data, **envelope})


async def accept(
    client: httpx.AsyncClient, type_: str, data: dict[str, Any], **envelope: Any
) -> dict[str, Any]:
    """POST one command that must be accepted; its answer."""
    response = await command(client, type_, data, **envelope)
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of an error answer, after checking its status."""
    assert response.status_code == status, response.text
    return response.json()["error"]


def field_rules(response: httpx.Response) -> dict[str, str | None]:
    """{field: rule} of a 422 answer; fails if a field is named twice."""
    fields = error_of(response, 422)["details"]["fields"]
    names = [f["field"] for f in fields]
    assert len(names) == len(set(names)), f"a field is reported twice: {names}"
    return {f["field"]: f.get("rule") for f in fields}


def only_event(answer: dict[str, Any], type_: str) -> dict[str, Any]:
    [event] = [e for e in answer["events"] if e["type"] == type_]
    return event


async def create_user(client: httpx.AsyncClient, **data: object) -> dict:
    body = {"name": "John Doe", "email": unique_email(), "age": 30} | data
    response = await client.post(COMMANDS, json={"type": "CreateUser", "data": body})
    assert response.status_code == 200, response.text
    return response.json()


async def create_order(
    client: httpx.AsyncClient, user_id: str, amount: str = "100.00", currency: str = "USD"
) -> dict[str, Any]:
    data = {"user_id": user_id, "amount": amount, "currency": currency, "description": "books"}
    return await accept(client, "CreateOrder", data)


def pay_data(order_id: str, amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"order_id": order_id, "amount": amount, "currency": currency, "method": "credit_card"}


async def pay(
    client: httpx.AsyncClient, order_id: str, amount: str, currency: str = "USD"
) -> dict[str, Any]:
    return await accept(client, "ProcessPayment", pay_data(order_id, amount, currency))


async def refund(client: httpx.AsyncClient, payment_id: str, amount: str) -> dict[str, Any]:
    return await accept(client, "RefundPayment", {"payment_id": payment_id, "amount": amount})


@asynccontextmanager
async def concurrent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app served in this event loop, so `asyncio.gather` really overlaps requests.

    (Litestar's AsyncTestClient runs the app behind a blocking portal: concurrent calls
    on it are handled one after the other.)"""
    app = create_app(settings)
    # httpx types the ASGI app its own way, which Litestar's callable does not spell
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as c,
    ):
        yield c


# --- waiting, the store, Kafka -----------------------------------------------------------


async def outbox_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(tables.outbox)) or 0)


async def topic_partitions(brokers: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=brokers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["partitions"], f"topic {topic} has no partitions"
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


def kafka_headers(record: ConsumerRecord) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def read_topic(
    brokers: str,
    topic: str,
    until: Callable[[list[ConsumerRecord]], bool] | None = None,
    within: float = 30.0,
) -> list[ConsumerRecord]:
    """Records of every partition from the beginning: until `until(records)` holds, or (when
    `until` is None) up to the end offsets seen at the start; at most `within` seconds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=brokers,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    partitions = await topic_partitions(brokers, topic)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []

        async def read_enough() -> bool:
            if until is not None:
                if until(records):
                    return True
            elif all([await consumer.position(p) >= end for p, end in ends.items()]):
                return True
            batches = await consumer.getmany(timeout_ms=200)
            for partition in sorted(batches, key=lambda p: p.partition):
                records.extend(batches[partition])
            return False

        try:
            await eventually(read_enough, timeout=within, interval=0, what=f"records of {topic}")
        except AssertionError as failure:
            raise AssertionError(f"{failure} ({len(records)} read)") from failure
        return records
    finally:
        await consumer.stop()


async def topic_size(brokers: str, topic: str) -> int:
    """How many records the topic holds (sum of end offsets; nothing is compacted)."""
    partitions = await topic_partitions(brokers, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def users_created_with(engine: AsyncEngine, *emails: str) -> list[str]:
    """The streams whose UserCreated holds one of `emails` (read from the events table and
    revealed: the stored email is sealed), in position order."""
    query = (
        select(tables.events.c.stream_id, tables.events.c.data)
        .where(tables.events.c.type == "UserCreated")
        .order_by(tables.events.c.position)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    keys = KeyRing(engine, master_key_from(PrivacySettings()))
    return [row.stream_id for row in rows if (await keys.reveal_data(row.data))["email"] in emails]
