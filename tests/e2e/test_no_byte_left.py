"""Issue 17's proof of crypto-shredding, on the whole system through the gateway: after
`ForgetUser`, no byte of the user's name or email is left anywhere the system stores data.

Searched: every table of the system's MariaDB database (events, outbox, claims, command
log, idempotency records, snapshots, data keys, ...: all of information_schema's list),
the Kafka topic and its dead-letter topic (read with Kafka's own console consumer,
`deploy/local/kafka.sh dump`), every collection of the read store, every Redis key under
the system's prefix. The positive control first: before the forget the same search finds
the plaintext where it must be (read models, the query cache), so a search that could not
find anything would fail; and the event store, the outbox and Kafka hold it sealed even
then."""

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from bson import json_util
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cqrs_contracts.privacy import ERASED
from tests.support.polling import eventually
from tests.support.services import ROOT, Endpoints
from tests.support.system import System

COMMANDS = "/api/v1/cqrs/commands"
QUERIES = "/api/v1/cqrs/queries"
EVENTS = "/api/v1/cqrs/events"
KAFKA = ROOT / "deploy/local/kafka.sh"


class Secrets:
    """The personal values of one user, each unique to this test run."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.names = [f"Zephyrine Quillfeather {tag}", f"Zephyrine Q. Renamed {tag}"]
        self.emails = [f"zq.{tag}@forget-me.example", f"zq.renamed.{tag}@forget-me.example"]

    def found_in(self, blob: bytes) -> list[str]:
        low = blob.lower()
        return [s for s in (*self.names, *self.emails) if s.lower().encode() in low]


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


async def mariadb_hits(mysql_url: str, database: str, secrets: Secrets) -> dict[str, list[str]]:
    engine = create_async_engine(f"{mysql_url}/{database}")
    hits: dict[str, list[str]] = {}
    try:
        async with engine.connect() as conn:
            tables = (
                await conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :db AND table_type = 'BASE TABLE'"
                    ),
                    {"db": database},
                )
            ).scalars()
            names = list(tables)
            assert {"events", "outbox", "unique_claims", "command_log", "data_keys"} <= set(names)
            for table in names:
                rows = await conn.execute(text(f"SELECT * FROM `{table}`"))
                blob = b"\n".join(_as_bytes(v) for row in rows for v in row)
                if found := secrets.found_in(blob):
                    hits[f"mariadb {table}"] = found
    finally:
        await engine.dispose()
    return hits


def kafka_hits(system: System, topics: Iterable[str], secrets: Secrets) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for topic in topics:
        dumped = subprocess.run(
            [str(KAFKA), "dump", topic],
            env={**os.environ, "CQRS_CONFIG": system.env["CQRS_CONFIG"]},
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        if found := secrets.found_in(dumped):
            hits[f"kafka {topic}"] = found
    return hits


def kafka_records(system: System, topic: str) -> int:
    dumped = subprocess.run(
        [str(KAFKA), "dump", topic],
        env={**os.environ, "CQRS_CONFIG": system.env["CQRS_CONFIG"]},
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return sum(1 for line in dumped.splitlines() if b"event-id:" in line)


async def read_store_hits(uri: str, database: str, secrets: Secrets) -> dict[str, list[str]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    hits: dict[str, list[str]] = {}
    try:
        db = client[database]
        for name in await db.list_collection_names():
            docs = [doc async for doc in db[name].find({})]
            if found := secrets.found_in(json_util.dumps(docs).encode()):
                hits[f"read store {name}"] = found
    finally:
        await client.close()
    return hits


async def redis_hits(url: str, prefix: str, secrets: Secrets) -> dict[str, list[str]]:
    redis = Redis.from_url(url)
    hits: dict[str, list[str]] = {}
    try:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            kind = _as_bytes(await redis.type(key)).decode()
            if kind == "string":
                values: list[Any] = [await redis.get(key)]
            elif kind == "hash":
                values = [*(await redis.hgetall(key)).items()]
            elif kind == "list":
                values = await redis.lrange(key, 0, -1)
            elif kind == "set":
                values = list(await redis.smembers(key))
            elif kind == "zset":
                values = await redis.zrange(key, 0, -1)
            elif kind == "stream":
                values = list(await redis.xrange(key) or [])
            else:
                continue
            blob = _as_bytes(key) + b"\n" + b"\n".join(_as_bytes(v) for v in values)
            if found := secrets.found_in(blob):
                hits[f"redis {_as_bytes(key).decode()}"] = found
    finally:
        await redis.aclose()
    return hits


async def everywhere(
    system: System, endpoints: Endpoints, secrets: Secrets
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(hits at rest in MariaDB and Kafka, hits in the read store and Redis)."""
    env = system.env
    topic = env["KAFKA_TOPIC"]
    at_rest = await mariadb_hits(endpoints.mysql_url, env["DB_NAME"], secrets)
    at_rest |= await asyncio.to_thread(kafka_hits, system, [topic, f"{topic}.dlq"], secrets)
    derived = await read_store_hits(endpoints.mongodb_uri, env["MONGODB_DB"], secrets)
    derived |= await redis_hits(endpoints.redis_url, env["CQRS__REDIS__PREFIX"], secrets)
    return at_rest, derived


async def command(gateway: httpx.AsyncClient, type_: str, **data: Any) -> dict[str, Any]:
    answer = await gateway.post(COMMANDS, json={"type": type_, "data": data})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def query(gateway: httpx.AsyncClient, type_: str, token: str, **data: Any) -> Any:
    answer = await gateway.post(
        QUERIES, json={"type": type_, "data": data}, headers={"X-Consistency-Token": token}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.timeout(300)
async def test_after_forget_user_no_byte_of_the_name_or_email_is_left_anywhere(
    system: System, endpoints: Endpoints, gateway: httpx.AsyncClient
) -> None:
    secrets = Secrets()
    created = await command(
        gateway, "CreateUser", name=secrets.names[0], email=secrets.emails[0], age=41
    )
    user = created["aggregate_id"]
    await command(
        gateway, "UpdateUser", user_id=user, name=secrets.names[1], email=secrets.emails[1]
    )
    order = await command(gateway, "CreateOrder", user_id=user, amount="12.50", currency="EUR")
    token = order["consistency_token"]
    # reads that fill every cache: documents, a list page, past answers, the query log
    live = await query(gateway, "GetUser", token, id=user)
    assert (live["result"]["name"], live["result"]["email"]) == (
        secrets.names[1],
        secrets.emails[1],
    )
    await query(gateway, "GetUserOrders", token, id=user)
    listed = await query(gateway, "ListUsers", token, email=secrets.emails[1][:12])
    assert [u["id"] for u in listed["result"]["items"]] == [user], listed
    past = await query(gateway, "GetUser", token, id=user, as_of=1)
    assert past["result"]["name"] == secrets.names[0]
    events = (await gateway.get(EVENTS, params={"aggregate_id": user})).json()["items"]
    assert [e["data"].get("name") for e in events][:2] == secrets.names

    # the positive control: the search finds the read side's plaintext; the event
    # store, the outbox and Kafka hold the personal data sealed from the start
    at_rest, derived = await everywhere(system, endpoints, secrets)
    assert at_rest == {}, at_rest
    assert any(where.startswith("read store") for where in derived), derived
    assert any(where.startswith("redis") for where in derived), derived
    assert await asyncio.to_thread(kafka_records, system, system.env["KAFKA_TOPIC"]) >= 3

    forgotten = await command(gateway, "ForgetUser", user_id=user)
    after = forgotten["consistency_token"]
    gone = await query(gateway, "GetUser", after, id=user)
    assert (gone["result"]["name"], gone["result"]["email"]) == (ERASED, ERASED)
    orders = await query(gateway, "GetUserOrders", after, id=user)
    assert (orders["result"]["name"], orders["result"]["email"]) == (ERASED, ERASED)
    # every read of the past and of the events shows the erased form
    past = await query(gateway, "GetUser", after, id=user, as_of=1)
    assert (past["result"]["name"], past["result"]["email"]) == (ERASED, ERASED)
    events = (await gateway.get(EVENTS, params={"aggregate_id": user})).json()["items"]
    assert {e["data"].get("name") for e in events if "name" in e["data"]} == {ERASED}

    async def nothing_left() -> bool:
        return (await everywhere(system, endpoints, secrets)) == ({}, {})

    await eventually(nothing_left, timeout=30, interval=1, what="no byte of the user left")
    # the claim is released: the email can be registered again by someone new
    again = await command(
        gateway, "CreateUser", name="Someone Else", email=secrets.emails[1], age=30
    )
    assert again["aggregate_id"] != user
    refused = await gateway.post(
        COMMANDS, json={"type": "UpdateUser", "data": {"user_id": user, "age": 42}}
    )
    assert 400 <= refused.status_code < 500, refused.text
    assert "error" in refused.json()
