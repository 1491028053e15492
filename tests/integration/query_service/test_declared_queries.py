"""Query types declared at run time (POST /handlers/queries) over the read models written
by the real command-service and projector: the right documents, only the declared fields,
nothing outside the declaration reaches MongoDB (422 naming the field), unregistering and
disabling stop a type, every replica follows, registrations survive restarts and are
audited, and only admins may change them."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from tests.integration.query_service.helpers import (
    answer,
    ask,
    error_of,
    ids,
    new_order,
    new_user,
    send,
    tag,
)
from tests.support.polling import eventually

HANDLERS = "/api/v1/cqrs/handlers/queries"
ADMIN = {"X-Actor": "ops@example.com"}
# every replica re-reads the registrations every 0.5 s; this only bounds a failing test
REPLICA_BOUND = 10.0
MakeClient = Callable[..., AbstractAsyncContextManager[AsyncTestClient]]


@dataclass(frozen=True)
class Orders:
    user: str
    other_user: str
    by_amount: dict[str, str]  # amount -> order id, all of `user`
    token: str


@pytest.fixture(scope="module")
async def orders(commands: AsyncTestClient, queries: AsyncTestClient) -> Orders:
    user, t0 = await new_user(commands, name=f"Decl {tag()}")
    other, t1 = await new_user(commands, name=f"Other {tag()}")
    tokens, by_amount = [t0, t1], {}
    for amount, currency in (("10.00", "USD"), ("20.00", "EUR"), ("30.00", "USD")):
        order, token = await new_order(commands, user, amount, currency)
        by_amount[amount], tokens = order, [*tokens, token]
        await asyncio.sleep(0.002)  # distinct creation times (the store keeps milliseconds)
    _, cancelled = await send(commands, "CancelOrder", order_id=by_amount["30.00"])
    _, foreign = await new_order(commands, other, "20.00", "USD")
    return Orders(user, other, by_amount, ",".join([*tokens, cancelled, foreign]))


def orders_of_user(name: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "read_model": "OrderReadModel",
        "filters": {
            "user_id": {"type": "string", "operators": ["eq"]},
            "amount": {"type": "decimal", "operators": ["gte", "lte"]},
            "status": {"operators": ["eq", "in"]},
            "currency": {"operators": ["eq", "prefix"]},
        },
        "sortable": ["amount", "created_at"],
        "projection": ["amount", "status", "currency"],
        "default_limit": 10,
        "max_limit": 20,
        **changes,
    }


async def register(client: AsyncTestClient, declaration: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(HANDLERS, json=declaration, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def declared(queries: AsyncTestClient) -> AsyncIterator[str]:
    """A registered OrdersOfUser type for one test, unregistered after it."""
    name = f"OrdersOfUser{tag()}"
    await register(queries, orders_of_user(name))
    yield name
    await queries.delete(f"{HANDLERS}/{name}")


def answers(client: AsyncTestClient, name: str) -> bool:
    """Whether this replica's query service holds `name` right now (no request made)."""
    container = client.app.dependencies["container"].dependency()
    return name in container.queries.declared


async def test_a_declared_query_returns_the_right_documents_and_only_its_fields(
    queries: AsyncTestClient, orders: Orders, declared: str
) -> None:
    data = {"user_id": orders.user, "amount": {"gte": "15"}, "sort": "amount", "order": "asc"}
    body = await answer(queries, declared, data, orders.token)
    rows = body["result"]["items"]
    assert ids(rows) == [orders.by_amount["20.00"], orders.by_amount["30.00"]]
    assert rows[0] == {
        "id": orders.by_amount["20.00"],
        "amount": "20.00",
        "status": "pending",
        "currency": "EUR",
    }
    assert rows[1]["status"] == "cancelled"
    assert body["result"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"status": "cancelled"}, ["30.00"]),
        ({"status": {"in": ["pending", "paid"]}}, ["10.00", "20.00"]),
        ({"currency": {"prefix": "US"}}, ["10.00", "30.00"]),
        ({"currency": "EUR"}, ["20.00"]),
        ({"amount": {"gte": 10, "lte": "20.00"}}, ["10.00", "20.00"]),
        ({"currency": {"prefix": ".*"}}, []),
    ],
)
async def test_declared_filters_and_operators(
    queries: AsyncTestClient,
    orders: Orders,
    declared: str,
    data: dict[str, Any],
    expected: list[str],
) -> None:
    asked = {"user_id": orders.user, "sort": "amount", "order": "asc", **data}
    rows = (await answer(queries, declared, asked, orders.token))["result"]["items"]
    assert [r["amount"] for r in rows] == expected


async def test_pages_follow_the_cursor(
    queries: AsyncTestClient, orders: Orders, declared: str
) -> None:
    seen: list[str] = []
    data: dict[str, Any] = {"user_id": orders.user, "sort": "created_at", "limit": 1}
    for _ in range(4):
        result = (await answer(queries, declared, data, orders.token))["result"]
        seen += ids(result["items"])
        if result["next_cursor"] is None:
            break
        data = {**data, "cursor": result["next_cursor"]}
    assert seen == [orders.by_amount[a] for a in ("30.00", "20.00", "10.00")]


async def test_without_sortable_fields_pages_go_by_id(
    queries: AsyncTestClient, orders: Orders
) -> None:
    name = f"ByUser{tag()}"
    await register(queries, orders_of_user(name, sortable=[], projection=["user_id"]))
    first = await answer(queries, name, {"user_id": orders.user, "limit": 2, "order": "asc"})
    cursor = first["result"]["next_cursor"]
    rest = await answer(queries, name, {"user_id": orders.user, "order": "asc", "cursor": cursor})
    got = ids(first["result"]["items"]) + ids(rest["result"]["items"])
    assert got == sorted(orders.by_amount.values())
    assert first["result"]["items"][0] == {"id": got[0], "user_id": orders.user}
    await queries.delete(f"{HANDLERS}/{name}")


def smuggled_cursor(operator: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([operator, "x"]).encode()).decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"description": "books"}, "description"),
        ({"versions": {"x": 1}}, "versions"),
        ({"$where": "sleep(100)"}, "$where"),
        ({"$or": [{"user_id": "x"}]}, "$or"),
        ({"user_id": {"$ne": None}}, "user_id.$ne"),
        ({"user_id": {"ne": "x"}}, "user_id.ne"),
        ({"user_id": ["a", "b"]}, "user_id"),
        ({"user_id": {"eq": {"$gt": ""}}}, "user_id.eq"),
        ({"amount": {"gte": {"$gt": 0}}}, "amount.gte"),
        ({"amount": {"gte": "NaN"}}, "amount.gte"),
        ({"amount": {"gte": True}}, "amount.gte"),
        ({"amount": 10}, "amount.eq"),
        ({"status": {"in": "pending"}}, "status.in"),
        ({"status": {"in": [{"$ne": None}]}}, "status.in.0"),
        ({"status": {}}, "status"),
        ({"sort": "description"}, "sort"),
        ({"sort": {"$natural": 1}}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"limit": 21}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": smuggled_cursor({"$ne": None})}, "cursor"),
    ],
)
async def test_anything_outside_the_declaration_is_422_naming_the_field(
    queries: AsyncTestClient, declared: str, data: dict[str, Any], field: str
) -> None:
    error = error_of(await ask(queries, declared, data), 422)
    assert error["code"] == "validation_failed"
    assert field in [f["field"] for f in error["details"]["fields"]]


async def test_unregistering_makes_the_type_unknown(queries: AsyncTestClient) -> None:
    name = f"Gone{tag()}"
    await register(queries, orders_of_user(name))
    assert (await ask(queries, name, {})).status_code == 200
    removed = await queries.delete(f"{HANDLERS}/{name}", headers=ADMIN)
    assert removed.json() == {"name": name, "action": "unregister"}
    error = error_of(await ask(queries, name, {}), 400)
    assert error["code"] == "unknown_type"
    assert name not in error["details"]["supported"]
    assert (await queries.delete(f"{HANDLERS}/{name}")).status_code == 404


async def test_listing_shows_built_in_and_declared_types(
    queries: AsyncTestClient, declared: str
) -> None:
    items = {h["name"]: h for h in (await queries.get(HANDLERS)).json()["items"]}
    assert items["ListUsers"] == {
        "name": "ListUsers",
        "built_in": True,
        "enabled": True,
        "declaration": None,
        "updated_at": None,
    }
    assert sum(h["built_in"] for h in items.values()) == 8
    assert items[declared]["declaration"]["filters"]["status"]["operators"] == ["eq", "in"]
    assert (await queries.get(f"{HANDLERS}/{declared}")).json()["name"] == declared


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "GetUser"}, "name"),
        ({"read_model": "SecretModel"}, "read_model"),
        ({"projection": ["amount", "password"]}, "projection.1"),
        ({"filters": {"amount": {"operators": ["contains"]}}}, "filters.amount.operators"),
        ({"filters": {"user_id": {"operators": ["$where"]}}}, "filters.user_id.operators.0"),
        ({"pipeline": [{"$out": "users"}]}, "pipeline"),
    ],
)
async def test_invalid_declarations_are_422(
    queries: AsyncTestClient, changes: dict[str, Any], field: str
) -> None:
    response = await queries.post(HANDLERS, json={**orders_of_user(f"Bad{tag()}"), **changes})
    assert field in [f["field"] for f in error_of(response, 422)["details"]["fields"]]


async def test_a_disabled_built_in_is_refused_until_re_enabled(
    queries: AsyncTestClient, orders: Orders
) -> None:
    disabled = await queries.delete(f"{HANDLERS}/GetUser", headers=ADMIN)
    try:
        assert disabled.json() == {"name": "GetUser", "action": "disable"}
        error = error_of(await ask(queries, "GetUser", {"id": orders.user}), 400)
        assert error["code"] == "query_disabled"
        listed = {h["name"]: h for h in (await queries.get(HANDLERS)).json()["items"]}
        assert (listed["GetUser"]["enabled"], listed["ListUsers"]["enabled"]) == (False, True)
    finally:
        enabled = await queries.post(f"{HANDLERS}/GetUser/enable", headers=ADMIN)
    assert (enabled.status_code, enabled.json()["enabled"]) == (200, True)
    assert (await answer(queries, "GetUser", {"id": orders.user}))["result"]["id"] == orders.user


async def test_another_replica_follows_and_a_restarted_one_remembers(
    queries: AsyncTestClient, query_client_with: MakeClient, orders: Orders
) -> None:
    name = f"Replicated{tag()}"
    async with query_client_with(CQRS__SECURITY__RATE_LIMITS__ENABLED="false") as second:
        await register(queries, orders_of_user(name))

        async def second_has_it() -> bool:
            return answers(second, name)

        await eventually(
            second_has_it, timeout=REPLICA_BOUND, what=f"the second replica to see {name}"
        )
        body = await answer(second, name, {"user_id": orders.user}, orders.token)
        assert len(body["result"]["items"]) == 3
    async with query_client_with() as restarted:  # a new process would start the same way
        assert answers(restarted, name)
        removed = await restarted.delete(f"{HANDLERS}/{name}", headers=ADMIN)
        assert removed.status_code == 200


async def test_every_change_is_audited_with_actor_action_and_time(
    queries: AsyncTestClient,
) -> None:
    name = f"Audited{tag()}"
    started = datetime.now(UTC) - timedelta(seconds=1)
    await register(queries, orders_of_user(name))
    await queries.post(HANDLERS, json=orders_of_user(name), headers={"X-Actor": "two@e.com"})
    await queries.delete(f"{HANDLERS}/{name}", headers=ADMIN)
    entries = (await queries.get(f"{HANDLERS}/audit", params={"name": name})).json()["items"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("unregister", "ops@example.com"),
        ("replace", "two@e.com"),
        ("register", "ops@example.com"),
    ]
    assert entries[-1]["declaration"]["read_model"] == "OrderReadModel"
    assert all(datetime.fromisoformat(e["at"]) >= started for e in entries)
    assert all((e["kind"], e["name"]) == ("query", name) for e in entries)


def bearer(settings: Settings, subject: str, *roles: str) -> dict[str, str]:
    security = settings.security
    token = Token(
        exp=datetime.now(UTC) + timedelta(minutes=5),
        sub=subject,
        iss=security.jwt_issuer,
        aud=security.jwt_audience,
        extras={"roles": list(roles)},
    )
    return {"Authorization": f"Bearer {token.encode(security.jwt_secret, security.jwt_algorithm)}"}


async def test_only_admins_may_touch_handlers(query_client_with: MakeClient) -> None:
    name = f"Guarded{tag()}"
    overrides = {"CQRS__SECURITY__AUTH_ENABLED": "true", "CQRS__SECURITY__JWT_SECRET": "k" * 40}
    async with query_client_with(**overrides) as client:
        settings = client.app.dependencies["container"].dependency().settings
        reader, admin = bearer(settings, "r1", "reader"), bearer(settings, "root", "admin")
        assert (await client.get(HANDLERS)).status_code == 401
        for response in (
            await client.get(HANDLERS, headers=reader),
            await client.post(HANDLERS, json=orders_of_user(name), headers=reader),
            await client.delete(f"{HANDLERS}/ListUsers", headers=reader),
            await client.post(f"{HANDLERS}/ListUsers/enable", headers=reader),
            await client.get(f"{HANDLERS}/audit", headers=reader),
        ):
            assert error_of(response, 403)["code"] == "forbidden"
        created = await client.post(HANDLERS, json=orders_of_user(name), headers=admin)
        assert created.status_code == 201, created.text
        asked = await client.post(
            "/api/v1/cqrs/queries", json={"type": name, "data": {}}, headers=reader
        )
        assert asked.status_code == 200, asked.text
        audit = await client.get(f"{HANDLERS}/audit", params={"name": name}, headers=admin)
        [entry] = audit.json()["items"]
        assert (entry["actor"], entry["action"]) == ("root", "register")
        await client.delete(f"{HANDLERS}/{name}", headers=admin)
