"""Events produced through the real command-service reach the registered webhooks over
real HTTP: the right handlers only, signed, with the event id; retried with backoff in
per-aggregate order; dead-lettered with the last error; stopped by unregistering."""

import uuid
from collections.abc import Callable
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.projector.helpers import email
from tests.integration.webhooks.conftest import HOOKS, Hooks
from tests.integration.webhooks.receiver import Receiver, Request
from tests.support.polling import eventually

COMMANDS = "/api/v1/cqrs/commands"


async def run(commands: AsyncTestClient, type_: str, **data: Any) -> dict[str, Any]:
    """A command through the real command-service; its answer (aggregate id, events)."""
    response = await commands.post(COMMANDS, json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def new_user(commands: AsyncTestClient) -> dict[str, Any]:
    return await run(commands, "CreateUser", name="Webhook Ada", email=email(), age=36)


def of(requests: list[Request], *streams: str) -> list[Request]:
    return [r for r in requests if r.event["stream_id"] in streams]


def got(path: str, stream: str, version: int, ok: bool = True) -> Callable[[Receiver], bool]:
    """Whether `path` has received (and answered 2xx, if `ok`) `stream`'s `version`."""
    return lambda rx: any(
        r.event["stream_id"] == stream and r.event["version"] == version and (r.ok or not ok)
        for r in rx.at(path)
    )


async def test_matching_handlers_get_signed_events_with_their_id_and_others_do_not(
    commands: AsyncTestClient, hooks: Hooks, receiver: Receiver
) -> None:
    await hooks.add("/users", "UserCreated")
    await hooks.add("/orders", "OrderCreated")
    await hooks.add("/every", "*")
    user = await new_user(commands)
    uid = user["aggregate_id"]
    order = await run(commands, "CreateOrder", user_id=uid, amount="12.50", currency="EUR")
    oid = order["aggregate_id"]
    updated = await run(commands, "UpdateUser", user_id=uid, name="Ada Renamed")
    last = await run(commands, "UpdateUser", user_id=uid, name="Ada Last")
    changed = await run(commands, "UpdateOrder", order_id=oid, description="barrier")
    # each stream's last event reached /every: every delivery of the earlier ones is done
    await receiver.wait_for(lambda rx: got("/every", uid, 3)(rx) and got("/every", oid, 2)(rx))

    every = of(receiver.at("/every"), uid, oid)
    stored = [user, order, updated, last, changed]
    assert sorted(r.headers["x-cqrs-event-id"] for r in every) == sorted(
        e["event_id"] for a in stored for e in a["events"]
    )
    assert [r.event["type"] for r in of(receiver.at("/users"), uid, oid)] == ["UserCreated"]
    assert [r.event["type"] for r in of(receiver.at("/orders"), uid, oid)] == ["OrderCreated"]
    mine = of(receiver.requests, uid, oid)
    assert all(r.signature_ok and r.ok for r in mine)
    assert all(r.legacy_ok for r in mine)  # the deprecated header, for one release
    for request in mine:
        assert request.headers["x-cqrs-event-id"] == request.event["event_id"]
        assert request.headers["x-cqrs-event-type"] == request.event["type"]
        assert request.headers["x-cqrs-delivery"] == "1"
        assert request.headers["content-type"] == "application/json"
    first = next(r for r in every if r.event["version"] == 1 and r.event["stream_id"] == uid)
    assert first.event["data"]["email"] == user["events"][0]["data"]["email"]


async def test_a_failing_receiver_gets_every_event_after_retries_in_aggregate_order(
    commands: AsyncTestClient, hooks: Hooks, receiver: Receiver
) -> None:
    flaky = await hooks.add("/flaky", "UserCreated", "UserUpdated", fail_first=2)
    uid = (await new_user(commands))["aggregate_id"]
    for n in range(3):
        await run(commands, "UpdateUser", user_id=uid, name=f"Ada {n}")
    await receiver.wait_for(got("/flaky", uid, 4))

    seen = of(receiver.at("/flaky"), uid)
    assert [(r.event["version"], r.attempt, r.ok) for r in seen] == [
        (version, attempt, attempt == 3) for version in (1, 2, 3, 4) for attempt in (1, 2, 3)
    ]
    assert all(r.signature_ok for r in seen)

    async def counted() -> bool:
        stats = (await hooks.listed())[flaky]["stats"]
        assert isinstance(stats, dict)
        return stats["delivered"] == 4 and stats["failed_attempts"] == 8

    await eventually(counted, timeout=30, what="4 deliveries and 8 failed attempts counted")
    stats: Any = (await hooks.listed())[flaky]["stats"]
    assert stats["dead_lettered"] == 0
    assert stats["last_error"].startswith("HTTP 500")
    assert stats["last_delivered_at"]


async def test_a_receiver_that_always_fails_is_dead_lettered_and_later_events_still_flow(
    commands: AsyncTestClient, hooks: Hooks, receiver: Receiver, hooks_admin: AsyncTestClient
) -> None:
    down = await hooks.add("/down", "UserUpdated", always=503)
    await hooks.add("/good", "UserUpdated")
    uid = (await new_user(commands))["aggregate_id"]
    second = await run(commands, "UpdateUser", user_id=uid, name="Ada Two")
    await run(commands, "UpdateUser", user_id=uid, name="Ada Three")
    await receiver.wait_for(got("/good", uid, 3))

    async def dead_letters() -> list[dict[str, Any]]:
        response = await hooks_admin.get(f"{HOOKS}/dead-letters", params={"handler_id": down})
        assert response.status_code == 200, response.text
        return [d for d in response.json()["items"] if d["stream_id"] == uid]

    async def both_dead() -> bool:
        return len(await dead_letters()) == 2

    await eventually(both_dead, timeout=30, what="both deliveries dead-lettered")
    entry = next(d for d in await dead_letters() if d["version"] == 2)
    assert entry["event_id"] == second["events"][0]["event_id"]
    assert entry["attempts"] == 3
    assert entry["last_error"].startswith("HTTP 503")
    assert entry["url"] == receiver.url("/down")
    assert entry["event_type"] == "UserUpdated"
    attempts = [(r.event["version"], r.attempt) for r in of(receiver.at("/down"), uid)]
    assert attempts == [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)]
    stats: Any = (await hooks.listed())[down]["stats"]
    assert (stats["dead_lettered"], stats["failed_attempts"], stats["delivered"]) == (2, 6, 0)


async def test_unregistering_by_id_and_by_type_stops_delivery(
    commands: AsyncTestClient, hooks: Hooks, receiver: Receiver, hooks_admin: AsyncTestClient
) -> None:
    by_id = await hooks.add("/by-id", "UserUpdated")
    updates_only = await hooks.add("/updates-only", "UserUpdated")
    both = await hooks.add("/both", "UserCreated", "UserUpdated")
    await hooks.add("/witness", "*")
    uid = (await new_user(commands))["aggregate_id"]
    await run(commands, "UpdateUser", user_id=uid, name="Ada Two")
    await receiver.wait_for(got("/witness", uid, 2))

    response = await hooks_admin.delete(f"{HOOKS}/by-id/{by_id}")
    assert response.status_code == 200, response.text
    await run(commands, "UpdateUser", user_id=uid, name="Ada Three")
    await receiver.wait_for(got("/witness", uid, 3))

    response = await hooks_admin.delete(f"{HOOKS}/UserUpdated")
    assert response.status_code == 200, response.text
    removed = response.json()
    assert updates_only in removed["removed"]
    assert removed["narrowed"] == [both]
    await hooks.add("/witness-2", "*")
    await run(commands, "UpdateUser", user_id=uid, name="Ada Four")
    other = (await new_user(commands))["aggregate_id"]
    # one more event per stream: once it arrives, every delivery of the one before is done
    await run(commands, "UpdateUser", user_id=uid, name="Ada Five")
    await run(commands, "UpdateUser", user_id=other, name="Other Two")
    await receiver.wait_for(
        lambda rx: got("/witness-2", uid, 5)(rx) and got("/witness-2", other, 2)(rx)
    )

    def versions(path: str, stream: str) -> list[int]:
        return [r.event["version"] for r in of(receiver.at(path), stream)]

    assert versions("/by-id", uid) == [2]
    assert versions("/updates-only", uid) == [2, 3]
    assert versions("/both", uid) == [1, 2, 3]
    assert versions("/both", other) == [1]  # still subscribed to UserCreated
    listed = await hooks.listed()
    assert by_id not in listed
    assert updates_only not in listed
    assert listed[both]["event_types"] == ["UserCreated"]
    audit = (await hooks_admin.get(f"{HOOKS}/audit")).json()["items"]
    changes = {(e["name"], e["action"]) for e in audit}
    assert {(by_id, "unregister"), (updates_only, "unregister"), (both, "replace")} <= changes
    narrowed = next(e for e in audit if (e["name"], e["action"]) == (both, "replace"))
    assert narrowed["declaration"]["event_types"] == ["UserCreated"]
    assert (await hooks_admin.delete(f"{HOOKS}/by-id/{uuid.uuid4().hex}")).status_code == 404
    assert (await hooks_admin.delete(f"{HOOKS}/NoSuchEvent")).status_code == 404
