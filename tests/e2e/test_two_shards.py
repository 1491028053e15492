"""The whole system on an event store of two shards (two real MariaDB servers), through
the gateway only: users placed on both shards, each with their orders and payments on
their own shard's server and never on the other; every query answering the right values
with each command's consistency token; an email held on one shard refused on the other;
the events and commands APIs reading both shards (pages of a small limit give every event
once); time travel and health on shard 1; and a projection rebuild over both shards giving
back the very read models it replaced."""

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.read_models import READ_MODELS
from cqrs_event_store.shards import ShardMap, named_shard
from cqrs_event_store.tables import command_log, events
from tests.integration.query_service.helpers import email
from tests.support.polling import eventually
from tests.support.services import Endpoints
from tests.support.system import System, namespace, running_system

COMMANDS = "/api/v1/cqrs/commands"
QUERIES = "/api/v1/cqrs/queries"
EVENTS = "/api/v1/cqrs/events"
READ_MODELS_PATH = "/api/v1/cqrs/read-models"
REBUILD = "/api/v1/cqrs/projections/rebuild"
SHARDS = ShardMap(2)
PAGE = 4  # events per page: many pages over both shards
REBUILD_WITHIN = 90.0
PLACED = (0, 1, 0, 1)  # the shard of each story's user


@pytest.fixture(scope="module")
async def sharded_env(endpoints: Endpoints, run_id: str) -> AsyncIterator[dict[str, str]]:
    async with namespace(endpoints, f"cqrs_e2e_shards_{run_id}", shards=True) as env:
        yield env


@pytest.fixture(scope="module")
def sharded(
    sharded_env: dict[str, str], run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    state = tmp_path_factory.mktemp("e2e-shards-state")
    with running_system(sharded_env, run_id=run_id, label="e2e-shards", state=state) as up:
        yield up


@pytest.fixture(scope="module")
async def servers(
    endpoints: Endpoints, sharded_env: dict[str, str], run_id: str
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The event store's database on each shard's server (shard 0, shard 1)."""
    name = f"cqrs_e2e_shards_{run_id}"
    engines = (
        create_async_engine(f"{endpoints.mysql_url}/{name}"),
        create_async_engine(f"{endpoints.shard_url()}/{name}"),
    )
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def gateway(sharded: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sharded.gateway, timeout=30) as client:
        yield client


def key_on(shard: int) -> str:
    """An idempotency key that places a new user on `shard` (placement by the key)."""
    while SHARDS.place(key := uuid.uuid4().hex) != shard:
        pass
    return key


@dataclass
class Story:
    """What one user's story did, and the token of its last command."""

    user: str
    orders: list[str] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)
    command_ids: list[str] = field(default_factory=list)
    token: str = ""


async def command(
    gateway: httpx.AsyncClient, story: Story | None, type_: str, key: str | None = None, **data: Any
) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    answer = await gateway.post(COMMANDS, json={"type": type_, "data": data}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = dict(answer.json())
    if story is not None:
        story.command_ids.append(body["command_id"])
        story.token = body["consistency_token"]
    return body


async def ask(gateway: httpx.AsyncClient, type_: str, token: str, **data: Any) -> Any:
    answer = await gateway.post(
        QUERIES, json={"type": type_, "data": data}, headers={"X-Consistency-Token": token}
    )
    assert answer.status_code == 200, (type_, answer.text)
    return answer.json()["result"]


async def a_story(gateway: httpx.AsyncClient, shard: int, name: str) -> Story:
    """A user on `shard`, updated; an order updated, paid twice, one payment refunded in
    part; a second order cancelled. Each read checked with the command's token."""
    created = await command(
        gateway, None, "CreateUser", key_on(shard), name=name, email=email(), age=30
    )
    story = Story(created["aggregate_id"], command_ids=[created["command_id"]])
    story.token = created["consistency_token"]
    assert (await ask(gateway, "GetUser", story.token, id=story.user))["name"] == name

    await command(gateway, story, "UpdateUser", id=story.user, age=31)
    assert (await ask(gateway, "GetUser", story.token, id=story.user))["age"] == 31

    order = await command(
        gateway, story, "CreateOrder", user_id=story.user, amount="90.00", currency="EUR"
    )
    story.orders.append(order["aggregate_id"])
    await command(gateway, story, "UpdateOrder", order_id=story.orders[0], description="desk")
    got_order = await ask(gateway, "GetOrder", story.token, id=story.orders[0])
    assert got_order["description"] == "desk"
    for amount in ("30.00", "20.00"):
        pay = {"order_id": order["aggregate_id"], "amount": amount, "currency": "EUR"}
        payment = await command(gateway, story, "ProcessPayment", method="upi", **pay)
        story.payments.append(payment["aggregate_id"])
        got = await ask(gateway, "GetPayment", story.token, id=payment["aggregate_id"])
        assert Decimal(got["amount"]) == Decimal(amount)
    await command(gateway, story, "RefundPayment", payment_id=story.payments[0], amount="10.00")
    got_order = await ask(gateway, "GetOrder", story.token, id=story.orders[0])
    assert Decimal(got_order["paid_amount"]) == Decimal("50.00")
    assert Decimal(got_order["refunded_amount"]) == Decimal("10.00")

    second = await command(
        gateway, story, "CreateOrder", user_id=story.user, amount="5.00", currency="EUR"
    )
    story.orders.append(second["aggregate_id"])
    await command(gateway, story, "CancelOrder", order_id=story.orders[1], reason="changed mind")
    cancelled = await ask(gateway, "GetOrder", story.token, id=story.orders[1])
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "changed mind")
    return story


async def every_query_agrees(gateway: httpx.AsyncClient, story: Story) -> None:
    """The lists and joined read models of one finished story, read with its last token."""
    token, order, payment = story.token, story.orders[0], story.payments[0]
    orders = await ask(gateway, "ListOrders", token, user_id=story.user)
    payments = await ask(gateway, "ListPayments", token, order_id=order)
    user_orders = await ask(gateway, "GetUserOrders", token, id=story.user)
    order_payments = await ask(gateway, "GetOrderPayments", token, id=order)
    refunded = await ask(gateway, "GetPayment", token, id=payment)
    assert sorted(o["id"] for o in orders["items"]) == sorted(story.orders)
    assert sorted(p["id"] for p in payments["items"]) == sorted(story.payments)
    assert user_orders["order_count"] == 2
    assert Decimal(order_payments["paid"]) == Decimal("50.00")
    assert Decimal(order_payments["refunded"]) == Decimal("10.00")
    assert Decimal(order_payments["balance"]) == Decimal("50.00")
    assert Decimal(refunded["refunded_amount"]) == Decimal("10.00")


async def stream_ids_on(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(events.c.stream_id).distinct())).scalars())


async def event_ids_on(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(events.c.event_id))).scalars())


async def command_ids_on(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(command_log.c.command_id))).scalars())


async def every_event_by_pages(gateway: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": PAGE}
    for _ in range(200):  # bounded: far more pages than this store has
        page = await gateway.get(EVENTS, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= PAGE
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        params["cursor"] = body["next_cursor"]
    raise AssertionError(f"GET /events never ended after {len(items)} events")


async def every_read_model(gateway: httpx.AsyncClient) -> dict[tuple[str, str], Any]:
    """Every document of every read model, through the gateway, by (type, id)."""
    found: dict[tuple[str, str], Any] = {}
    for name in READ_MODELS:
        params: dict[str, Any] = {"type": name, "limit": 100}
        for _ in range(50):
            page = await gateway.get(READ_MODELS_PATH, params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            for doc in body["items"]:
                found[(name, doc["id"])] = doc
            if not body.get("next_cursor"):
                break
            params["cursor"] = body["next_cursor"]
        else:
            raise AssertionError(f"{name} never ended")
    return found


@dataclass(frozen=True)
class World:
    """The stories told (on shards 0, 1, 0, 1) and a user of shard 1 deleted."""

    stories: list[Story]
    deleted: str
    deleted_token: str


@pytest.fixture(scope="module")
async def world(sharded: System) -> World:
    async with httpx.AsyncClient(base_url=sharded.gateway, timeout=30) as gateway:
        stories = [await a_story(gateway, shard, f"Sharded {n}") for n, shard in enumerate(PLACED)]
        doomed = await command(
            gateway, None, "CreateUser", key_on(1), name="Doomed", email=email(), age=50
        )
        deleted = await command(gateway, None, "DeleteUser", id=doomed["aggregate_id"])
    return World(stories, doomed["aggregate_id"], deleted["consistency_token"])


async def test_every_query_answers_each_story_on_either_shard(
    gateway: httpx.AsyncClient, world: World
) -> None:
    for story, shard in zip(world.stories, PLACED, strict=True):
        assert {named_shard(i) for i in (story.user, *story.orders, *story.payments)} == {shard}
        await every_query_agrees(gateway, story)
    gone = await ask(gateway, "GetUser", world.deleted_token, id=world.deleted)
    assert gone["status"] == "deleted"


async def test_each_users_streams_are_on_their_shards_server_only(
    world: World, servers: tuple[AsyncEngine, AsyncEngine]
) -> None:
    on_server = [await stream_ids_on(engine) for engine in servers]
    for story in world.stories:
        streams = {story.user, *story.orders, *story.payments}
        shard = named_shard(story.user)
        assert streams <= on_server[shard], shard
        assert not streams & on_server[1 - shard], shard
    assert world.deleted in on_server[1]
    assert world.deleted not in on_server[0]
    assert all(named_shard(s) == 1 for s in on_server[1])
    assert all(named_shard(s) == 0 for s in on_server[0])


async def test_an_email_taken_on_one_shard_is_refused_on_the_other(
    gateway: httpx.AsyncClient, world: World
) -> None:
    first = world.stories[0]
    assert named_shard(first.user) == 0
    taken = (await ask(gateway, "GetUser", first.token, id=first.user))["email"]
    refused = await gateway.post(
        COMMANDS,
        json={"type": "CreateUser", "data": {"name": "Twin", "email": taken, "age": 20}},
        headers={"Idempotency-Key": key_on(1)},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "email_taken"


async def test_pages_of_events_give_every_event_of_both_shards_once(
    gateway: httpx.AsyncClient, world: World, servers: tuple[AsyncEngine, AsyncEngine]
) -> None:
    paged = await every_event_by_pages(gateway)
    stored = [await event_ids_on(engine) for engine in servers]
    assert stored[0], "shard 0 holds events"
    assert stored[1], "shard 1 holds events"
    assert len(paged) == len({e["event_id"] for e in paged}), "an event was given twice"
    assert sorted(e["event_id"] for e in paged) == sorted(stored[0] + stored[1])
    assert {(e["event_id"], e["shard"]) for e in paged} == {
        (event_id, shard) for shard, ids in enumerate(stored) for event_id in ids
    }
    one_event_id = stored[1][0]
    assert named_shard(one_event_id) == 1
    one_event = await gateway.get(f"{EVENTS}/{one_event_id}")
    assert one_event.status_code == 200, one_event.text
    assert one_event.json()["event_id"] == one_event_id


async def test_the_command_log_lists_and_finds_both_shards_commands(
    gateway: httpx.AsyncClient, world: World, servers: tuple[AsyncEngine, AsyncEngine]
) -> None:
    listed: set[str] = set()
    params: dict[str, Any] = {"limit": 100}
    for _ in range(20):
        page = (await gateway.get(COMMANDS, params=params)).json()
        listed |= {c["command_id"] for c in page["items"]}
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    logged = [await command_ids_on(engine) for engine in servers]
    assert logged[0], "shard 0 logged commands"
    assert logged[1], "shard 1 logged commands"
    assert logged[0] | logged[1] <= listed
    on_one = world.stories[1].command_ids[-1]
    assert on_one in logged[1]
    found = await gateway.get(f"{COMMANDS}/{on_one}")
    assert found.status_code == 200, found.text
    assert found.json()["command_id"] == on_one


async def test_time_travel_on_a_shard_1_user(gateway: httpx.AsyncClient, world: World) -> None:
    story = world.stories[1]
    assert named_shard(story.user) == 1
    then = await gateway.post(
        QUERIES, json={"type": "GetUser", "data": {"id": story.user, "as_of": 1}}
    )
    assert then.status_code == 200, then.text
    assert (then.json()["result"]["age"], then.json()["as_of"]["version"]) == (30, 1)
    order = await gateway.post(
        QUERIES, json={"type": "GetOrderPayments", "data": {"id": story.orders[0], "as_of": 3}}
    )
    assert order.status_code == 200, order.text
    assert [p["payment_id"] for p in order.json()["result"]["payments"]] == story.payments[:1]
    now = await ask(gateway, "GetUser", story.token, id=story.user)
    assert now["age"] == 31


async def test_every_service_checks_both_shards(gateway: httpx.AsyncClient) -> None:
    command_health = (await gateway.get("/api/v1/cqrs/health/command")).json()
    projector = (await gateway.get("/api/v1/cqrs/health/projector")).json()
    query = (await gateway.get("/api/v1/cqrs/health/query")).json()
    for health in (command_health, projector, query):
        assert health["status"] == "healthy", health
    assert command_health["checks"]["database"]["shards"] == 2
    for health in (projector, query):
        assert health["checks"]["event_store"]["status"] == "up", health
        assert health["checks"]["event_store_shard_1"]["status"] == "up", health
    whole = await gateway.get("/api/v1/cqrs/health")
    assert whole.status_code == 200, whole.text
    assert whole.json()["status"] == "healthy", whole.json()


async def test_a_rebuild_over_both_shards_gives_the_same_read_models(
    gateway: httpx.AsyncClient, world: World, servers: tuple[AsyncEngine, AsyncEngine]
) -> None:
    """Last in this module: it replaces every read model (with equal ones)."""
    before = await every_read_model(gateway)
    for story in world.stories:
        assert ("UserOrderReadModel", story.user) in before
        assert {("PaymentReadModel", p) for p in story.payments} <= before.keys()
    started = await gateway.post(REBUILD)
    assert started.status_code == 202, started.text

    async def finished() -> dict[str, Any] | None:
        job = dict((await gateway.get(REBUILD)).json())
        assert job["state"] != "failed", job
        return job if job["state"] == "succeeded" else None

    job = await eventually(finished, timeout=REBUILD_WITHIN, interval=0.5, what="the rebuild")
    stored = [await event_ids_on(engine) for engine in servers]
    assert job["events"] == len(stored[0]) + len(stored[1])
    assert await every_read_model(gateway) == before
