"""Standard Webhooks signatures over real HTTP, secret rotation (several active secrets,
then the old one retired) and re-driving a dead letter once its receiver answers 2xx."""

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.webhooks.conftest import HOOKS, SECRET, Hooks
from tests.integration.webhooks.receiver import Receiver, Request
from tests.integration.webhooks.test_delivery import got, new_user, of, run
from tests.support.polling import eventually

NEW_SECRET = "the-rotated-secret-0002"


@pytest.fixture(scope="module")
def own_loop_receiver() -> Iterator[Receiver]:
    """A receiver on an event loop of its own thread: the test client handles a request
    synchronously (blocking this loop), and a re-drive delivers inside the request."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    found = Receiver()
    asyncio.run_coroutine_threadsafe(found.start(), loop).result(10)
    yield found

    async def shut_down() -> None:
        await found.stop()
        connections = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shut_down(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
async def redrive_hooks(
    hooks_admin: AsyncTestClient, own_loop_receiver: Receiver
) -> AsyncIterator[Hooks]:
    made = Hooks(hooks_admin, own_loop_receiver)
    yield made
    for handler_id in made.ids:
        await hooks_admin.delete(f"{HOOKS}/by-id/{handler_id}")


def delivery_of(receiver: Receiver, path: str, stream: str, version: int) -> Request:
    (found,) = [r for r in of(receiver.at(path), stream) if r.event["version"] == version]
    return found


async def test_during_a_rotation_both_secrets_verify_and_after_retiring_only_the_new_one(
    commands: AsyncTestClient, hooks: Hooks, receiver: Receiver, hooks_admin: AsyncTestClient
) -> None:
    rotating = await hooks.add("/rotating", "UserCreated", "UserUpdated")
    uid = (await new_user(commands))["aggregate_id"]
    await receiver.wait_for(got("/rotating", uid, 1))

    added = await hooks_admin.post(f"{HOOKS}/by-id/{rotating}/secrets", json={"secret": NEW_SECRET})
    assert added.status_code == 201, added.text
    assert added.json()["n"] == 2
    assert NEW_SECRET not in added.text
    listed: Any = (await hooks.listed())[rotating]
    assert [s["n"] for s in listed["secrets"]] == [1, 2]
    assert SECRET not in str(listed)
    assert NEW_SECRET not in str(listed)
    await run(commands, "UpdateUser", user_id=uid, name="Ada Rotating")
    await receiver.wait_for(got("/rotating", uid, 2))

    last = await hooks_admin.delete(f"{HOOKS}/by-id/{rotating}/secrets/1")
    assert last.status_code == 200, last.text
    await run(commands, "UpdateUser", user_id=uid, name="Ada Rotated")
    await receiver.wait_for(got("/rotating", uid, 3, ok=False))

    before, during, after = (delivery_of(receiver, "/rotating", uid, v) for v in (1, 2, 3))
    assert before.verified_by(SECRET)
    assert not before.verified_by(NEW_SECRET)
    assert during.verified_by(SECRET)
    assert during.verified_by(NEW_SECRET)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_by(NEW_SECRET)
    assert not after.verified_by(SECRET)
    assert during.headers["webhook-id"] == during.event["event_id"]
    # the only secret left cannot be retired; an unknown one is not there
    only = await hooks_admin.delete(f"{HOOKS}/by-id/{rotating}/secrets/2")
    assert only.status_code == 409, only.text
    unknown = await hooks_admin.delete(f"{HOOKS}/by-id/{rotating}/secrets/7")
    assert unknown.status_code == 404, unknown.text
    assert [s["n"] for s in (await hooks.listed())[rotating]["secrets"]] == [2]


async def test_a_dead_letter_redriven_to_a_receiver_that_recovered_is_delivered_and_gone(
    commands: AsyncTestClient,
    redrive_hooks: Hooks,
    own_loop_receiver: Receiver,
    hooks_admin: AsyncTestClient,
) -> None:
    receiver = own_loop_receiver
    down = await redrive_hooks.add("/redrive", "UserCreated", always=503)
    uid = (await new_user(commands))["aggregate_id"]

    async def dead_letters() -> list[dict[str, Any]]:
        response = await hooks_admin.get(f"{HOOKS}/dead-letters", params={"handler_id": down})
        assert response.status_code == 200, response.text
        return [d for d in response.json()["items"] if d["stream_id"] == uid]

    async def dead() -> bool:
        return len(await dead_letters()) == 1

    await eventually(dead, timeout=30, what="the delivery dead-lettered")
    (entry,) = await dead_letters()
    receiver.routes["/redrive"].always = None  # the receiver is back
    earlier = len(of(receiver.at("/redrive"), uid))

    answer = await hooks_admin.post(f"{HOOKS}/dead-letters/{entry['id']}/retry")

    assert answer.status_code == 200, answer.text
    outcome = {"id": entry["id"], "delivered": True, "attempts": 1, "last_error": None}
    assert answer.json() == outcome
    assert await dead_letters() == []
    (redriven,) = of(receiver.at("/redrive"), uid)[earlier:]
    assert redriven.ok
    assert redriven.signature_ok
    assert redriven.attempt == 1
    assert redriven.headers["webhook-id"] == entry["event_id"]
    again = await hooks_admin.post(f"{HOOKS}/dead-letters/{entry['id']}/retry")
    assert again.status_code == 404, again.text


async def test_a_redrive_that_fails_again_stays_dead_lettered(
    commands: AsyncTestClient, redrive_hooks: Hooks, hooks_admin: AsyncTestClient
) -> None:
    down = await redrive_hooks.add("/still-down", "UserCreated", always=502)
    uid = (await new_user(commands))["aggregate_id"]

    async def dead_letters() -> list[dict[str, Any]]:
        response = await hooks_admin.get(f"{HOOKS}/dead-letters", params={"handler_id": down})
        return [d for d in response.json()["items"] if d["stream_id"] == uid]

    async def dead() -> bool:
        return len(await dead_letters()) == 1

    await eventually(dead, timeout=30, what="the delivery dead-lettered")
    (entry,) = await dead_letters()
    answer = await hooks_admin.post(f"{HOOKS}/dead-letters/{entry['id']}/retry")

    assert answer.status_code == 200, answer.text
    assert answer.json()["delivered"] is False
    assert answer.json()["attempts"] == 1
    assert answer.json()["last_error"].startswith("HTTP 502")
    assert [d["id"] for d in await dead_letters()] == [entry["id"]]
    unknown = await hooks_admin.post(f"{HOOKS}/dead-letters/{down}:no-such-event/retry")
    assert unknown.status_code == 404, unknown.text
