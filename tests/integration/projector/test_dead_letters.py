"""Poison messages on the events topic go to the dead-letter topic with their error,
the partition moves on, and an entry can be listed (HTTP, CLI) and re-driven."""

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from tests.integration.projector.helpers import email, send, wait_for_doc
from tests.support.services import ROOT, Endpoints

DLQ = "/api/v1/cqrs/projections/dlq"
PARTITIONS = 3  # kafka_topics creates every topic of the run with 3 partitions


async def publish(brokers: str, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=brokers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, body, key=key.encode(), headers=[(k, v.encode()) for k, v in headers.items()]
        )
    finally:
        await producer.stop()


async def find_records(brokers: str, topic: str, wanted: Any, count: int) -> list[Any]:
    """The first `count` records of `topic` (read from the start) for which `wanted` holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        async with asyncio.timeout(20):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [r for r in records if wanted(r)]
    finally:
        await consumer.stop()
    return sorted(found, key=lambda r: r.offset)[:count]


@pytest.fixture(scope="module")
async def poisoned(
    commands: AsyncTestClient,
    projector_admin: AsyncTestClient,
    endpoints: Endpoints,
    mongo_database: str,
    kafka_topics: dict[str, str],
) -> dict[str, Any]:
    """Two poison messages ahead of a user's next event on its partition: an envelope whose
    data breaks the UserCreated contract (no email), and a body that is not JSON."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri)
    read_db = mongo[mongo_database]
    uid = await send(commands, "CreateUser", name="Ada", email=email(), age=36)
    await wait_for_doc(read_db, "users", uid, uid, 1)
    bad_stream, bad_event, marker = str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4().hex
    now = datetime.now(UTC).isoformat()
    no_email = {
        "event_id": bad_event,
        "stream_type": "user",
        "stream_id": bad_stream,
        "version": 1,
        "type": "UserCreated",
        "schema_version": 2,
        "data": {"user_id": bad_stream, "name": "X", "created_at": now},
        "occurred_at": now,
    }
    brokers, events = endpoints.kafka_brokers, kafka_topics["events"]
    headers = {"event-id": bad_event, "event-type": "UserCreated"}
    # keyed like the user's stream: the same partition, ahead of the user's next event
    await publish(brokers, events, uid, json.dumps(no_email).encode(), headers)
    await publish(brokers, events, uid, f"not json {marker}".encode(), {})
    await send(commands, "UpdateUser", user_id=uid, name="After the poison")
    user = await wait_for_doc(read_db, "users", uid, uid, 2)
    invalid, garbage = await find_records(
        brokers, kafka_topics["dlq"], lambda r: r.key == uid.encode(), 2
    )
    await mongo.close()
    return {
        "uid": uid,
        "user": user,
        "bad_stream": bad_stream,
        "bad_event": bad_event,
        "garbage_body": f"not json {marker}",
        "invalid": invalid,
        "garbage": garbage,
        "refs": (f"{invalid.partition}:{invalid.offset}", f"{garbage.partition}:{garbage.offset}"),
    }


async def test_poison_goes_to_the_dead_letter_topic_and_the_partition_moves_on(
    poisoned: dict[str, Any], projector_admin: AsyncTestClient, kafka_topics: dict[str, str]
) -> None:
    invalid, garbage = poisoned["invalid"], poisoned["garbage"]
    invalid_headers = {k: v.decode() for k, v in invalid.headers}
    garbage_headers = {k: v.decode() for k, v in garbage.headers}

    assert poisoned["user"]["name"] == "After the poison"  # the event behind the poison
    assert json.loads(invalid.value)["stream_id"] == poisoned["bad_stream"]
    assert invalid_headers["event-id"] == poisoned["bad_event"]
    assert "email" in invalid_headers["dlq-error"]
    assert invalid_headers["dlq-source"].startswith(f"{kafka_topics['events']}:")
    assert garbage.value.decode() == poisoned["garbage_body"]
    assert garbage_headers["dlq-error"].startswith("not an event envelope")
    status = (await projector_admin.get("/api/v1/cqrs/projections")).json()
    assert status["dead_lettered"] >= 2


async def test_dead_letters_are_listed_with_their_error(
    poisoned: dict[str, Any], projector_admin: AsyncTestClient
) -> None:
    response = await projector_admin.get(DLQ)

    assert response.status_code == 200, response.text
    listed = {e["ref"]: e for e in response.json()["items"]}
    invalid_ref, garbage_ref = poisoned["refs"]
    invalid, garbage = listed[invalid_ref], listed[garbage_ref]
    assert (invalid["event_id"], invalid["event_type"]) == (poisoned["bad_event"], "UserCreated")
    assert (invalid["key"], invalid["payload"]["stream_id"]) == (
        poisoned["uid"],
        poisoned["bad_stream"],
    )
    assert "email" in invalid["error"]
    assert garbage["payload"] == poisoned["garbage_body"]
    assert garbage["error"].startswith("not an event envelope")


async def test_a_dead_letter_is_redriven_to_the_events_topic(
    poisoned: dict[str, Any],
    projector_admin: AsyncTestClient,
    endpoints: Endpoints,
    kafka_topics: dict[str, str],
) -> None:
    ref = poisoned["refs"][0]

    response = await projector_admin.post(f"{DLQ}/{ref}/retry")

    assert response.status_code == 202, response.text
    assert response.json() == {"redriven": ref, "event_id": poisoned["bad_event"]}
    header = ("dlq-redrive", ref.encode())
    (record,) = await find_records(
        endpoints.kafka_brokers, kafka_topics["events"], lambda r: header in r.headers, 1
    )
    assert record.key == poisoned["uid"].encode()
    assert json.loads(record.value)["stream_id"] == poisoned["bad_stream"]
    assert (await projector_admin.post(f"{DLQ}/{PARTITIONS}:0/retry")).status_code == 404


async def test_the_cli_lists_dead_letters(
    poisoned: dict[str, Any], service_env: dict[str, str], run_id: str
) -> None:
    env = {
        **os.environ,
        **service_env,
        "KAFKA_GROUP_ID": f"projector-{run_id}",
        "CQRS__REDIS__PREFIX": f"test:{run_id}",
    }
    cli = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "projector"),
        "dlq",
        "list",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), timeout=60)

    assert cli.returncode == 0, err.decode()[-2000:]
    listed = {json.loads(line)["ref"]: json.loads(line) for line in out.decode().splitlines()}
    invalid_ref, garbage_ref = poisoned["refs"]
    assert listed[invalid_ref]["event_id"] == poisoned["bad_event"]
    assert listed[invalid_ref]["error"]
    assert garbage_ref in listed


async def test_every_dead_letter_of_a_stream_is_redriven_in_order(
    poisoned: dict[str, Any],
    projector_admin: AsyncTestClient,
    endpoints: Endpoints,
    kafka_topics: dict[str, str],
) -> None:
    uid = poisoned["uid"]

    response = await projector_admin.post(f"{DLQ}/streams/{uid}/retry")

    assert response.status_code == 202, response.text
    body = response.json()
    refs = [r["ref"] for r in body["redriven"]]
    assert body["stream_id"] == uid
    assert set(poisoned["refs"]) <= set(refs)
    assert refs == sorted(refs, key=lambda r: tuple(int(n) for n in r.split(":")))
    header = ("dlq-redrive", poisoned["refs"][1].encode())  # re-driven by this test alone
    (record,) = await find_records(
        endpoints.kafka_brokers, kafka_topics["events"], lambda r: header in r.headers, 1
    )
    assert record.key == uid.encode()
    assert record.value.decode() == poisoned["garbage_body"]
    missing = await projector_admin.post(f"{DLQ}/streams/no-such-stream/retry")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
