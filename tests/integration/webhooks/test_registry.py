"""Registrations live in the read store: they survive a restart, every replica sees a
change, each change is audited (who, what, when), secrets are never shown, bad
registrations are refused, and only admins may touch them."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from cqrs_contracts.webhooks import EventHandlerRegistration
from projector.entrypoints.http.app import create_app
from projector.webhooks.adapters.registry import WebhookRegistry
from tests.integration.projector.helpers import email, send
from tests.integration.webhooks.conftest import HOOKS, SECRET, Hooks
from tests.integration.webhooks.receiver import Receiver
from tests.support.polling import eventually
from tests.support.services import Endpoints


async def test_registrations_survive_a_restart_and_are_audited(
    new_settings: Callable[..., Settings], commands: AsyncTestClient, receiver: Receiver
) -> None:
    settings = new_settings()
    async with AsyncTestClient(app=create_app(settings)) as first:
        handler_id = await Hooks(first, receiver).add("/restart", "UserCreated")

    async with AsyncTestClient(app=create_app(settings)) as second:
        listed = await Hooks(second, receiver).listed()
        uid = await send(commands, "CreateUser", name="Restart Ada", email=email(), age=40)
        await receiver.wait_for(
            lambda rx: any(r.event["stream_id"] == uid for r in rx.at("/restart"))
        )
        audit = (await second.get(f"{HOOKS}/audit")).json()["items"]
        removed = await second.delete(f"{HOOKS}/by-id/{handler_id}", headers={"X-Actor": "ops-bob"})
        after = (await second.get(f"{HOOKS}/audit")).json()["items"]

    assert listed[handler_id]["url"] == receiver.url("/restart")
    assert listed[handler_id]["created_by"] == "ops-alice"
    (delivery,) = [r for r in receiver.at("/restart") if r.event["stream_id"] == uid]
    assert delivery.signature_ok
    assert delivery.ok
    assert [(e["kind"], e["actor"], e["action"], e["name"]) for e in audit] == [
        ("event", "ops-alice", "register", handler_id)
    ]
    assert audit[0]["declaration"]["event_types"] == ["UserCreated"]
    assert audit[0]["declaration"]["url"] == receiver.url("/restart")
    assert "secret" not in audit[0]["declaration"]
    assert datetime.fromisoformat(audit[0]["at"]) <= datetime.now(UTC)
    assert removed.status_code == 200
    assert [(e["actor"], e["action"]) for e in after] == [
        ("ops-bob", "unregister"),
        ("ops-alice", "register"),
    ]


async def test_a_change_on_one_replica_is_seen_by_another(
    new_settings: Callable[..., Settings], endpoints: Endpoints
) -> None:
    settings = new_settings()
    client: AsyncMongoClient = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    db = client[settings.database.mongodb.database]
    one, other = WebhookRegistry(db), WebhookRegistry(db)
    await other.reload()
    watching = asyncio.create_task(other.watch(0.5))
    try:
        registration = EventHandlerRegistration(
            event_types=["UserCreated"], url="http://127.0.0.1:9/x", secret=SECRET
        )
        handler = await one.register(registration, "ops-carol")
        now = datetime.now(UTC) + timedelta(milliseconds=5)
        event = EventEnvelope(
            event_id=str(uuid.uuid4()),
            stream_type="user",
            stream_id=str(uuid.uuid4()),
            version=1,
            type="UserCreated",
            schema_version=2,
            data={},
            occurred_at=now,
        )
        # an event that occurred after the registration finds it on the other replica
        assert [h.id for h in await other.matching(event)] == [handler.id]
        await one.unregister(handler.id, "ops-carol")

        async def dropped() -> bool:
            return not other.is_registered(handler.id)

        await eventually(dropped, timeout=5, what="the next refresh to drop it")
    finally:
        watching.cancel()
        await client.close()
    assert not other.is_registered(handler.id)


async def test_secrets_are_masked_and_bad_registrations_refused(hooks: Hooks) -> None:
    secret = "never-show-this-secret-9876"
    handler_id = await hooks.add("/masked", "OrderCreated", secret=secret)
    response = await hooks.admin.get(HOOKS)
    bad = [
        {"event_types": ["A"], "url": "ftp://example.com/x", "secret": SECRET},
        {"event_types": ["A"], "url": "example.com/x", "secret": SECRET},
        {"event_types": [], "url": "https://example.com/x", "secret": SECRET},
        {"event_types": ["A"], "url": "https://example.com/x"},
        {"event_types": ["A"], "url": "https://example.com/x", "secret": "short"},
    ]
    answers = [await hooks.admin.post(HOOKS, json=body) for body in bad]

    assert secret not in response.text
    assert (
        next(h for h in response.json()["items"] if h["id"] == handler_id)["secret"] == "****9876"
    )
    assert [a.status_code for a in answers] == [422] * len(bad)
    assert answers[0].json()["error"]["details"]["fields"][0]["field"] == "url"


def bearer(settings: Settings, subject: str, *roles: str) -> dict[str, str]:
    security = settings.security
    token = Token(
        exp=datetime.now(UTC) + timedelta(minutes=5),
        sub=subject,
        iss=security.jwt_issuer,
        aud=security.jwt_audience,
        extras={"roles": list(roles)},
    ).encode(security.jwt_secret, security.jwt_algorithm)
    return {"Authorization": f"Bearer {token}"}


async def test_only_admins_may_register_list_or_remove_handlers(
    new_settings: Callable[..., Settings],
) -> None:
    settings = new_settings(CQRS__SECURITY__AUTH_ENABLED="true", CQRS__WEBHOOKS__ENABLED="false")
    body = {"event_types": ["*"], "url": "http://127.0.0.1:9/x", "secret": SECRET}
    async with AsyncTestClient(app=create_app(settings)) as app:
        writer, reader = bearer(settings, "wes", "writer"), bearer(settings, "rea", "reader")
        refused = [
            await app.post(HOOKS, json=body, headers=writer),
            await app.get(HOOKS, headers=reader),
            await app.delete(f"{HOOKS}/UserCreated", headers=writer),
            await app.delete(f"{HOOKS}/by-id/x", headers=writer),
            await app.get(f"{HOOKS}/dead-letters", headers=writer),
            await app.get(f"{HOOKS}/audit", headers=writer),
        ]
        anonymous = await app.post(HOOKS, json=body)
        admin = bearer(settings, "alice-admin", "admin")
        created = await app.post(HOOKS, json=body, headers=admin)
        audit = (await app.get(f"{HOOKS}/audit", headers=admin)).json()["items"]

    assert [r.status_code for r in refused] == [403] * len(refused)
    assert anonymous.status_code == 401
    assert created.status_code == 201, created.text
    assert [(e["actor"], e["action"]) for e in audit] == [("alice-admin", "register")]
