"""Which shard a command is written on (CommandService over two in-memory shards)."""

from typing import Any

import pytest

from command_service.adapters.memory_store import MemoryWriteStore
from command_service.application.service import Caller, CommandService
from cqrs_contracts.envelopes import CommandRequest
from cqrs_event_store.shards import mint_id, named_shard
from tests.unit.command_service.helpers import make_settings


class Sharded:
    def __init__(self) -> None:
        self.stores = [MemoryWriteStore(), MemoryWriteStore()]
        self.committed: list[int] = []
        self.service = CommandService(
            self.stores[0],
            make_settings(),
            on_commit=self.committed.append,
            other_shards=self.stores[1:],
        )

    async def send(self, type_: str, key: str | None = None, **data: Any) -> tuple[int, Any]:
        request = CommandRequest.model_validate({"type": type_, "data": data})
        answer = await self.service.execute(request, Caller(actor="unit", idempotency_key=key))
        return answer.http_status, answer.body

    def streams_on(self, shard: int) -> set[str]:
        return {e.stream_id for e in self.stores[shard].tables.events}


@pytest.fixture
def sharded() -> Sharded:
    return Sharded()


async def user(sharded: Sharded, key: str | None = None, email: str = "") -> str:
    status, body = await sharded.send(
        "CreateUser", key, name="Routed", email=email or f"{id(object())}@example.com", age=30
    )
    assert status == 200, body
    return str(body["aggregate_id"])


async def test_new_users_are_placed_on_each_shard_in_turn(sharded: Sharded) -> None:
    users = [await user(sharded, email=f"u{n}@example.com") for n in range(4)]
    assert [named_shard(u) for u in users] == [0, 1, 0, 1]
    assert sharded.committed == [0, 1, 0, 1]  # each shard's relay is woken for its own
    assert sharded.streams_on(0) == {users[0], users[2]}
    assert sharded.streams_on(1) == {users[1], users[3]}


async def test_an_order_and_its_payment_follow_the_user(sharded: Sharded) -> None:
    for n in range(2):
        uid = await user(sharded, email=f"o{n}@example.com")
        status, order = await sharded.send("CreateOrder", user_id=uid, amount=10, currency="EUR")
        assert status == 200, order
        status, paid = await sharded.send(
            "ProcessPayment",
            order_id=order["aggregate_id"],
            amount=10,
            currency="EUR",
            method="upi",
        )
        assert status == 200, paid
        home = named_shard(uid)
        assert {uid, order["aggregate_id"], paid["aggregate_id"]} <= sharded.streams_on(home)
        assert not {order["aggregate_id"], paid["aggregate_id"]} & sharded.streams_on(1 - home)


async def test_the_same_idempotency_key_always_lands_on_the_same_shard(sharded: Sharded) -> None:
    first = await user(sharded, key="same key", email="k@example.com")
    status, again = await sharded.send(
        "CreateUser", "same key", name="Routed", email="k@example.com", age=30
    )
    assert status == 200
    assert again["aggregate_id"] == first
    assert len(sharded.streams_on(0) | sharded.streams_on(1)) == 1


async def test_an_email_taken_on_one_shard_is_refused_on_the_other(sharded: Sharded) -> None:
    first = await user(sharded, email="one@example.com")
    status, body = await sharded.send(
        "CreateUser", name="Routed", email="one@example.com", age=30
    )  # placed on the other shard
    assert (status, body["error"]["code"]) == (409, "email_taken")
    assert len(sharded.streams_on(1 - named_shard(first))) == 0


async def test_a_stream_on_a_shard_the_store_lacks_is_a_422(sharded: Sharded) -> None:
    status, body = await sharded.send("UpdateUser", user_id=mint_id(9), age=31)
    assert status == 422
    assert "names shard 9; this event store has 2" in str(body)
