"""Command types declared at run time (POST /handlers/commands) go through the same
validation, idempotency, event store, outbox, relay and command log as built-in ones;
built-in types can be disabled and re-enabled; every replica follows within a second
(the registry re-reads MySQL every 0.5 s); registrations survive restarts and are
audited; only admins may change them."""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import Settings
from cqrs_contracts.topics import HEADER_EVENT_TYPE
from cqrs_event_store import tables
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import (
    command,
    create_user,
    error_of,
    field_rules,
    kafka_headers,
    read_topic,
)
from tests.support.polling import eventually
from tests.support.services import Endpoints

HANDLERS = "/api/v1/cqrs/handlers/commands"
ADMIN = {"X-Actor": "ops@example.com"}
# every replica re-reads the registrations every 0.5 s; this only bounds a failing test
REPLICA_BOUND = 10.0


def quiet(**overrides: str) -> dict[str, str]:
    """Settings overrides for an app of these tests: no shared rate-limit budget."""
    return {"CQRS__SECURITY__RATE_LIMITS__ENABLED": "false", **overrides}


@pytest.fixture(scope="module")
async def admin(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(make_settings(**quiet()))) as client:
        yield client


def open_ticket(name: str, **changes: Any) -> dict[str, Any]:
    """A declaration: a new ticket stream named by ticket_id, with a TicketOpened event."""
    return {
        "name": name,
        "schema": {
            "type": "object",
            "properties": {
                "ticket_id": {"type": "string", "minLength": 1},
                "title": {"type": "string", "minLength": 3, "maxLength": 80},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            },
            "required": ["ticket_id", "title"],
            "additionalProperties": False,
        },
        "stream_type": "ticket",
        "id_field": "ticket_id",
        "event_type": "TicketOpened",
        "mapping": {"ticket_id": "$id", "title": "title", "priority": "priority", "at": "$now"},
        "precondition": "not_exists",
        **changes,
    }


def close_ticket(name: str) -> dict[str, Any]:
    """A declaration acting on an existing ticket stream; its data copied as it is."""
    return {
        "name": name,
        "schema": {
            "type": "object",
            "properties": {"ticket_id": {"type": "string"}, "reason": {"type": "string"}},
            "required": ["ticket_id"],
        },
        "stream_type": "ticket",
        "id_field": "ticket_id",
        "event_type": "TicketClosed",
        "precondition": "exists",
    }


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def register(client: httpx.AsyncClient, declaration: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(HANDLERS, json=declaration, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def stream_rows(engine: AsyncEngine, stream_id: str) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(tables.events)
            .where(tables.events.c.stream_id == stream_id)
            .order_by(tables.events.c.version)
        )
        return list(result)


async def outbox_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(tables.outbox)))


def accepts(client: AsyncTestClient, name: str) -> bool:
    """Whether this replica's command service holds `name` right now (no request made)."""
    container = client.app.dependencies["container"].dependency()
    return name in container.commands.commands


async def test_a_declared_command_stores_its_event_with_outbox_row_and_log_entry(
    private_store: PrivateStore,
) -> None:
    """With the relay off, the outbox row stays for the test to see."""
    name, ticket = unique("OpenTicket"), unique("t-")
    settings = private_store.settings(**quiet(CQRS__COMMAND_SERVICE__RELAY_ENABLED="false"))
    engine = create_async_engine(private_store.url)
    async with AsyncTestClient(app=create_app(settings)) as client:
        registered = await register(client, open_ticket(name))
        assert (registered["action"], registered["built_in"], registered["enabled"]) == (
            "register",
            False,
            True,
        )
        data = {"ticket_id": ticket, "title": "  Printer on fire  ", "priority": 2}
        key = unique("key-")
        first = await command(client, name, data, idempotency_key=key)
        assert first.status_code == 200, first.text
        answer = first.json()
        log = (await client.get(f"/api/v1/cqrs/commands/{answer['command_id']}")).json()
        again = await command(client, name, data, idempotency_key=key)
        rows = await stream_rows(engine, ticket)
        outbox = await outbox_rows(engine)
    await engine.dispose()

    assert (answer["aggregate_id"], answer["version"]) == (ticket, 1)
    [event] = answer["events"]
    assert (event["type"], event["stream_type"], event["stream_id"]) == (
        "TicketOpened",
        "ticket",
        ticket,
    )
    assert {k: event["data"][k] for k in ("ticket_id", "title", "priority")} == {
        "ticket_id": ticket,
        "title": "Printer on fire",
        "priority": 2,
    }
    assert datetime.fromisoformat(event["data"]["at"]).tzinfo is not None
    [row] = rows
    assert (row.type, row.version, row.event_id, row.data) == (
        "TicketOpened",
        1,
        event["event_id"],
        event["data"],
    )
    [queued] = [o for o in outbox if o.event_id == event["event_id"]]
    assert (queued.topic, queued.message_key) == (private_store.topic, ticket)
    assert queued.headers[HEADER_EVENT_TYPE] == "TicketOpened"
    assert json.loads(queued.payload)["event_id"] == event["event_id"]
    assert (log["type"], log["status"], log["event_ids"]) == (name, "accepted", [event["event_id"]])
    assert again.status_code == 200
    assert again.json()["command_id"] == answer["command_id"]
    assert len(outbox) == 1


async def test_a_declared_event_is_relayed_to_kafka(
    private_store: PrivateStore, endpoints: Endpoints
) -> None:
    name, ticket = unique("OpenTicket"), unique("t-")
    async with AsyncTestClient(app=create_app(private_store.settings(**quiet()))) as client:
        await register(client, open_ticket(name))
        response = await command(client, name, {"ticket_id": ticket, "title": "Relayed"})
        assert response.status_code == 200, response.text
        event_id = response.json()["events"][0]["event_id"]
        records = await read_topic(
            endpoints.kafka_brokers,
            private_store.topic,
            until=lambda rs: any(event_id.encode() in (r.value or b"") for r in rs),
        )
    [record] = [r for r in records if event_id.encode() in (r.value or b"")]
    assert record.key == ticket.encode()
    assert kafka_headers(record)[HEADER_EVENT_TYPE] == "TicketOpened"


async def test_bad_data_is_422_field_by_field(admin: AsyncTestClient) -> None:
    name = unique("OpenTicket")
    await register(admin, open_ticket(name))
    response = await command(admin, name, {"title": "ab", "priority": "high", "colour": "red"})
    error = error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert field_rules(response) == {
        "ticket_id": "required",
        "title": "minLength",
        "priority": "type",
        "colour": "additionalProperties",
    }


async def test_preconditions_refuse_with_404_and_409(admin: AsyncTestClient) -> None:
    opening, closing, ticket = unique("OpenTicket"), unique("CloseTicket"), unique("t-")
    await register(admin, open_ticket(opening))
    await register(admin, close_ticket(closing))

    missing = error_of(await command(admin, closing, {"ticket_id": unique("none-")}), 404)
    assert missing["code"] == "not_found"

    assert (
        await command(admin, opening, {"ticket_id": ticket, "title": "Once"})
    ).status_code == 200
    twice = error_of(await command(admin, opening, {"ticket_id": ticket, "title": "Twice"}), 409)
    assert twice["code"] == "conflict"

    closed = await command(admin, closing, {"ticket_id": ticket, "reason": "done"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["version"] == 2
    assert closed.json()["events"][0]["data"] == {"ticket_id": ticket, "reason": "done"}

    user_id = (await create_user(admin))["aggregate_id"]
    foreign = error_of(await command(admin, closing, {"ticket_id": user_id}), 409)
    assert "user stream" in foreign["message"]


async def test_expected_version_applies_to_the_declared_stream(admin: AsyncTestClient) -> None:
    opening, closing, ticket = unique("OpenTicket"), unique("CloseTicket"), unique("t-")
    await register(admin, open_ticket(opening))
    await register(admin, close_ticket(closing))
    await command(admin, opening, {"ticket_id": ticket, "title": "Versioned"})
    stale = await command(admin, closing, {"ticket_id": ticket}, expected_version=0)
    assert error_of(stale, 409)["code"] == "version_conflict"
    assert (
        await command(admin, closing, {"ticket_id": ticket}, expected_version=1)
    ).status_code == 200


async def test_a_new_stream_gets_a_generated_id(admin: AsyncTestClient) -> None:
    name = unique("FileNote")
    declaration = {
        "name": name,
        "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        "stream_type": "note",
        "new_id": True,
        "event_type": "NoteFiled",
        "mapping": {"note_id": "$id", "text": "text"},
    }
    await register(admin, declaration)
    answers = [(await command(admin, name, {"text": "hi"})).json() for _ in range(2)]
    ids = [a["aggregate_id"] for a in answers]
    assert ids[0] != ids[1]
    assert [a["events"][0]["data"] for a in answers] == [{"note_id": i, "text": "hi"} for i in ids]


async def test_listing_shows_built_in_and_declared_types(admin: AsyncTestClient) -> None:
    name = unique("OpenTicket")
    await register(admin, open_ticket(name))
    items = {h["name"]: h for h in (await admin.get(HANDLERS)).json()["items"]}
    assert items["CreateUser"] == {
        "name": "CreateUser",
        "built_in": True,
        "enabled": True,
        "declaration": None,
        "updated_at": None,
    }
    assert {n for n, h in items.items() if h["built_in"]} >= {"CreateUser", "RefundPayment"}
    declared = items[name]
    assert declared["built_in"] is False
    assert declared["declaration"]["schema"]["required"] == ["ticket_id", "title"]
    one = await admin.get(f"{HANDLERS}/{name}")
    assert one.json()["name"] == name
    assert (await admin.get(f"{HANDLERS}/NoSuchThing")).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "CreateUser"}, "name"),
        ({"schema": {"type": "object", "properties": {"x": {"type": 5}}}}, "schema"),
        ({"stream_type": "order"}, "stream_type"),
        ({"event_type": "OrderCreated"}, "event_type"),
        ({"code": "__import__('os')"}, "code"),
    ],
)
async def test_invalid_declarations_are_422(
    admin: AsyncTestClient, changes: dict[str, Any], field: str
) -> None:
    response = await admin.post(HANDLERS, json={**open_ticket(unique("Bad")), **changes})
    error = error_of(response, 422)
    assert field in [f["field"] for f in error["details"]["fields"]]


async def test_re_posting_replaces_and_unregistering_stops_the_type(
    admin: AsyncTestClient,
) -> None:
    name = unique("OpenTicket")
    await register(admin, open_ticket(name))
    replaced = await admin.post(HANDLERS, json=open_ticket(name, event_type="TicketRaised"))
    assert (replaced.status_code, replaced.json()["action"]) == (200, "replace")
    raised = await command(admin, name, {"ticket_id": unique("t-"), "title": "Replaced"})
    assert raised.json()["events"][0]["type"] == "TicketRaised"

    gone = await admin.delete(f"{HANDLERS}/{name}", headers=ADMIN)
    assert gone.json() == {"name": name, "action": "unregister"}
    error = error_of(await command(admin, name, {"ticket_id": "x", "title": "Gone"}), 400)
    assert error["code"] == "unknown_type"
    assert name not in error["details"]["supported"]
    assert (await admin.delete(f"{HANDLERS}/{name}")).status_code == 404


async def test_a_disabled_built_in_is_refused_until_re_enabled(
    private_store: PrivateStore,
) -> None:
    async with AsyncTestClient(app=create_app(private_store.settings(**quiet()))) as client:
        disabled = await client.delete(f"{HANDLERS}/CreateUser", headers=ADMIN)
        assert disabled.json() == {"name": "CreateUser", "action": "disable"}
        response = await command(client, "CreateUser", {"name": "Ada", "email": "a@example.com"})
        error = error_of(response, 400)
        assert error["code"] == "command_disabled"
        listed = {h["name"]: h for h in (await client.get(HANDLERS)).json()["items"]}
        assert listed["CreateUser"]["enabled"] is False
        assert listed["UpdateUser"]["enabled"] is True
        assert (await client.post(HANDLERS, json=open_ticket("CreateUser"))).status_code == 422

        enabled = await client.post(f"{HANDLERS}/CreateUser/enable", headers=ADMIN)
        assert (enabled.status_code, enabled.json()["enabled"]) == (200, True)
        assert (await create_user(client))["version"] == 1
        assert (await client.post(f"{HANDLERS}/NoSuchThing/enable")).status_code == 404


async def test_another_replica_follows_registrations_and_removals(
    private_store: PrivateStore,
) -> None:
    name, ticket = unique("OpenTicket"), unique("t-")
    settings = private_store.settings(**quiet())
    async with (
        AsyncTestClient(app=create_app(settings)) as first,
        AsyncTestClient(app=create_app(settings)) as second,
    ):
        await register(first, open_ticket(name))

        async def second_has_it() -> bool:
            return accepts(second, name)

        await eventually(
            second_has_it, timeout=REPLICA_BOUND, what="the second replica to see the type"
        )
        accepted = await command(second, name, {"ticket_id": ticket, "title": "Elsewhere"})
        assert accepted.status_code == 200, accepted.text

        await first.delete(f"{HANDLERS}/CreateUser")

        async def second_refuses() -> bool:
            response = await command(second, "CreateUser", {"name": "Ada", "email": "x@e.com"})
            return response.status_code == 400 and response.json()["error"]["code"] == (
                "command_disabled"
            )

        await eventually(
            second_refuses, timeout=REPLICA_BOUND, what="the second replica to disable CreateUser"
        )
        await first.delete(f"{HANDLERS}/{name}")

        async def second_dropped_it() -> bool:
            return not accepts(second, name)

        await eventually(
            second_dropped_it, timeout=REPLICA_BOUND, what="the second replica to drop the type"
        )


async def test_registrations_survive_a_restart(private_store: PrivateStore) -> None:
    name = unique("OpenTicket")
    settings = private_store.settings(**quiet())
    async with AsyncTestClient(app=create_app(settings)) as before:
        await register(before, open_ticket(name))
        await before.delete(f"{HANDLERS}/DeleteUser")
    async with AsyncTestClient(app=create_app(settings)) as after:
        response = await command(after, name, {"ticket_id": unique("t-"), "title": "Restarted"})
        assert response.status_code == 200, response.text
        refused = await command(after, "DeleteUser", {"user_id": "u1"})
        assert error_of(refused, 400)["code"] == "command_disabled"


async def test_every_change_is_audited_with_actor_action_and_time(
    private_store: PrivateStore,
) -> None:
    name = unique("OpenTicket")
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with AsyncTestClient(app=create_app(private_store.settings(**quiet()))) as client:
        await register(client, open_ticket(name))
        await client.post(
            HANDLERS, json=open_ticket(name), headers={"X-Actor": "second@example.com"}
        )
        await client.delete(f"{HANDLERS}/{name}", headers=ADMIN)
        await client.delete(f"{HANDLERS}/CancelOrder", headers=ADMIN)
        await client.post(f"{HANDLERS}/CancelOrder/enable", headers=ADMIN)
        entries = (await client.get(f"{HANDLERS}/audit")).json()["items"]
        only_name = (await client.get(f"{HANDLERS}/audit", params={"name": name})).json()["items"]
    actions = [(e["name"], e["action"], e["actor"]) for e in reversed(entries)]
    assert actions == [
        (name, "register", "ops@example.com"),
        (name, "replace", "second@example.com"),
        (name, "unregister", "ops@example.com"),
        ("CancelOrder", "disable", "ops@example.com"),
        ("CancelOrder", "enable", "ops@example.com"),
    ]
    assert [e["action"] for e in only_name] == ["unregister", "replace", "register"]
    assert only_name[-1]["declaration"]["event_type"] == "TicketOpened"
    assert all(datetime.fromisoformat(e["at"]) >= started for e in entries)
    assert all(e["kind"] == "command" for e in entries)


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


async def test_only_admins_may_touch_handlers(private_store: PrivateStore) -> None:
    settings = private_store.settings(
        **quiet(CQRS__SECURITY__AUTH_ENABLED="true", CQRS__SECURITY__JWT_SECRET="s" * 40)
    )
    writer, admin_ = bearer(settings, "w1", "writer"), bearer(settings, "root", "admin")
    name = unique("OpenTicket")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get(HANDLERS)).status_code == 401
        for response in (
            await client.get(HANDLERS, headers=writer),
            await client.post(HANDLERS, json=open_ticket(name), headers=writer),
            await client.delete(f"{HANDLERS}/CreateUser", headers=writer),
            await client.post(f"{HANDLERS}/CreateUser/enable", headers=writer),
            await client.get(f"{HANDLERS}/audit", headers=writer),
        ):
            assert error_of(response, 403)["code"] == "forbidden"
        created = await client.post(HANDLERS, json=open_ticket(name), headers=admin_)
        assert created.status_code == 201, created.text
        sent = await client.post(
            "/api/v1/cqrs/commands",
            json={"type": name, "data": {"ticket_id": unique("t-"), "title": "By a writer"}},
            headers=writer,
        )
        assert sent.status_code == 200, sent.text
        [entry] = (await client.get(f"{HANDLERS}/audit", headers=admin_)).json()["items"]
    assert (entry["actor"], entry["action"]) == ("root", "register")
