"""The command-service on an event store of two shards, against real MariaDB: each
command is written on one shard, a user's orders and payments on the user's, and an
email is unique across both.

The two shards are two databases of the test server here (each with every table, as
migrated): what routing and the holds need is two stores that share no table, and a
second server adds nothing to that. The e2e suite runs two servers."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.adapters.write_keys import WriteKeys
from command_service.adapters.write_store import SqlWriteStore
from command_service.application.event_import import EventImporter
from command_service.application.ports import StoredAnswer
from command_service.application.service import Caller, CommandService, RejectedError
from command_service.migrations import upgrade_to_head
from cqrs_contracts.envelopes import AppendEventRequest, CommandRequest
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store import tables as t
from cqrs_event_store.shards import id_beside, mint_id, named_shard
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import unique_email
from tests.support.services import Endpoints

WRITER = Caller(actor="sharded")


@dataclass
class TwoShards:
    engines: list[AsyncEngine]
    commands: CommandService
    importer: EventImporter

    def send(self, type_: str, **data: Any) -> "asyncio.Future[StoredAnswer]":
        request = CommandRequest.model_validate({"type": type_, "data": data})
        return asyncio.ensure_future(self.commands.execute(request, WRITER))

    async def keyed(self, key: str, type_: str, **data: Any) -> StoredAnswer:
        request = CommandRequest.model_validate({"type": type_, "data": data})
        return await self.commands.execute(request, Caller(actor="sharded", idempotency_key=key))

    async def count(self, shard: int, table: Any, *where: Any) -> int:
        async with self.engines[shard].connect() as conn:
            return int(
                await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0
            )


@pytest.fixture
async def shards(private_store: PrivateStore, endpoints: Endpoints) -> AsyncIterator[TwoShards]:
    """Shard 0: the private store; shard 1: a second migrated database beside it."""
    second = f"{private_store.url.rsplit('/', 1)[1]}_s1"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{second}` CHARACTER SET utf8mb4"))
    await asyncio.to_thread(upgrade_to_head, f"{endpoints.mysql_url}/{second}")
    engines = [
        create_async_engine(private_store.url),
        create_async_engine(f"{endpoints.mysql_url}/{second}"),
    ]
    settings = private_store.settings()
    keys = WriteKeys.from_settings(PrivacySettings())
    stores = [SqlWriteStore(e, private_store.topic, snapshot_every=0, keys=keys) for e in engines]
    commands = CommandService(stores[0], settings, other_shards=stores[1:])
    importer = EventImporter(stores[0], [], stores[1:])
    try:
        yield TwoShards(engines, commands, importer)
    finally:
        for engine in engines:
            await engine.dispose()
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{second}`"))
        await server.dispose()


def accepted(answer: StoredAnswer) -> dict[str, Any]:
    assert answer.http_status == 200, answer.body
    return answer.body


async def test_a_user_their_orders_and_payments_are_written_on_the_users_shard(
    shards: TwoShards,
) -> None:
    users = [
        accepted(await shards.send("CreateUser", name="Sharded", email=unique_email(), age=30))
        for _ in range(4)
    ]
    ids = [u["aggregate_id"] for u in users]
    assert sorted(named_shard(i) for i in ids) == [0, 0, 1, 1]  # placed in turn
    for user_id in ids:
        home = named_shard(user_id)
        order = accepted(
            await shards.send("CreateOrder", user_id=user_id, amount=50, currency="EUR")
        )
        order_id = order["aggregate_id"]
        payment = accepted(
            await shards.send(
                "ProcessPayment", order_id=order_id, amount=20, currency="EUR", method="upi"
            )
        )
        accepted(await shards.send("RefundPayment", payment_id=payment["aggregate_id"], amount=5))
        streams = [user_id, order_id, payment["aggregate_id"]]
        assert {named_shard(s) for s in streams} == {home}
        every_event = [e["event_id"] for a in (order, payment) for e in a["events"]]
        assert {named_shard(e) for e in every_event} == {home}
        away = 1 - home
        for stream in streams:
            assert await shards.count(home, t.events, t.events.c.stream_id == stream) > 0
            assert await shards.count(away, t.events, t.events.c.stream_id == stream) == 0
        assert await shards.count(home, t.data_keys, t.data_keys.c.subject == user_id) == 1
        assert await shards.count(away, t.data_keys, t.data_keys.c.subject == user_id) == 0
        for command in (order, payment):
            log = t.command_log.c.command_id == command["command_id"]
            assert (
                await shards.count(home, t.command_log, log),
                await shards.count(away, t.command_log, log),
            ) == (1, 0)
    for shard in (0, 1):  # each shard's outbox holds its own events only
        async with shards.engines[shard].connect() as conn:
            keys = (await conn.execute(select(t.outbox.c.message_key))).scalars().all()
        assert keys
        assert {named_shard(k) for k in keys} == {shard}


async def test_an_idempotency_key_places_a_new_user_on_one_shard_every_time(
    shards: TwoShards,
) -> None:
    for n in range(6):
        key, email = f"key-{uuid.uuid4()}-{n}", unique_email()
        first = await shards.keyed(key, "CreateUser", name="Keyed", email=email, age=40)
        again = await shards.keyed(key, "CreateUser", name="Keyed", email=email, age=40)
        assert again.replayed
        assert again.body == first.body
        user = t.events.c.stream_id == first.body["aggregate_id"]
        assert await shards.count(0, t.events, user) + await shards.count(1, t.events, user) == 1


async def test_an_email_is_unique_across_shards(shards: TwoShards) -> None:
    email = unique_email()
    first = accepted(await shards.send("CreateUser", name="First", email=email, age=30))
    # the next new user goes to the other shard (placement in turn): its claim is held there
    second = await shards.send("CreateUser", name="Second", email=email.upper(), age=30)
    assert (second.http_status, second.body["error"]["code"]) == (409, "email_taken")
    others = [
        accepted(await shards.send("CreateUser", name="Other", email=unique_email(), age=30))
        for _ in range(2)
    ]
    home = named_shard(first["aggregate_id"])
    other = next(o for o in others if named_shard(o["aggregate_id"]) != home)
    taken = await shards.send("UpdateUser", user_id=other["aggregate_id"], email=email)
    assert taken.http_status == 409, taken.body
    accepted(await shards.send("DeleteUser", user_id=first["aggregate_id"]))
    moved = await shards.send("UpdateUser", user_id=other["aggregate_id"], email=email)
    accepted(moved)  # released on shard 0, claimed on shard 1
    claims = [await shards.count(s, t.unique_claims) for s in (0, 1)]
    assert sum(claims) == 2  # `other`'s (the email, its old one released) and the third's


async def test_concurrent_claims_of_one_email_from_both_shards_let_exactly_one_win(
    shards: TwoShards,
) -> None:
    for _ in range(3):
        email = unique_email()
        racers = [
            shards.send("CreateUser", name=f"Racer {n}", email=email, age=30) for n in range(12)
        ]
        answers = await asyncio.gather(*racers)
        statuses = sorted(a.http_status for a in answers)
        assert statuses == [200] + [409] * 11, [a.body for a in answers]
        winners = [a.body["aggregate_id"] for a in answers if a.http_status == 200]
        assert {named_shard(a) for a in winners} <= {0, 1}


async def test_many_new_users_on_both_shards_at_once_never_wait_on_each_other(
    shards: TwoShards,
) -> None:
    answers = await asyncio.gather(
        *(shards.send("CreateUser", name="Busy", email=unique_email(), age=30) for _ in range(60))
    )
    assert [a.http_status for a in answers] == [200] * 60, [a.body for a in answers][:3]
    assert [await shards.count(s, t.unique_claims) for s in (0, 1)] == [30, 30]


async def test_an_id_naming_a_shard_the_store_does_not_have_is_refused(shards: TwoShards) -> None:
    beyond = mint_id(5)
    answer = await shards.send("UpdateUser", user_id=beyond, age=44)
    assert answer.http_status == 422, answer.body
    assert "names shard 5; this event store has 2" in str(answer.body)
    unknown = await shards.send("CreateOrder", user_id=beyond, amount=5, currency="EUR")
    assert unknown.http_status == 422, unknown.body


async def test_an_imported_order_must_be_beside_its_user(shards: TwoShards) -> None:
    user = accepted(await shards.send("CreateUser", name="Importer", email=unique_email(), age=30))
    user_id = user["aggregate_id"]
    elsewhere = mint_id(1 - named_shard(user_id))
    data = {
        "user_id": user_id,
        "amount": "12.50",
        "currency": "EUR",
        "created_at": "2026-12-01T10:00:00Z",
    }

    def order(order_id: str) -> AppendEventRequest:
        return AppendEventRequest.model_validate(
            {"type": "OrderCreated", "data": {**data, "order_id": order_id}}
        )

    with pytest.raises(RejectedError) as refused:
        await shards.importer.append(order(elsewhere), actor="admin")
    assert refused.value.status == 422
    assert "beside its owner" in refused.value.body["error"]["message"]
    stored = await shards.importer.append(order(id_beside(user_id)), actor="admin")
    assert named_shard(stored.stream_id) == named_shard(stored.event_id) == named_shard(user_id)
    home = t.events.c.stream_id == stored.stream_id
    assert await shards.count(named_shard(user_id), t.events, home) == 1
