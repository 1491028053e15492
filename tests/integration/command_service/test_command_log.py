"""The command log: every command, accepted or rejected, readable one by one and as
filtered, cursor-paginated pages (newest first)."""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.command_service.helpers import COMMANDS, error_of, unique_email


def user(**data: object) -> dict[str, object]:
    return {"name": "Log Reader", "email": unique_email(), "age": 30} | data


async def send(client: AsyncTestClient, data: dict, actor: str | None = None) -> tuple[str, dict]:
    """POST a CreateUser with our own command id; that id and the answer body."""
    command_id = str(uuid.uuid4())
    headers = {"X-Actor": actor} if actor else {}
    body = {"id": command_id, "type": "CreateUser", "data": data}
    response = await client.post(COMMANDS, json=body, headers=headers)
    return command_id, response.json()


async def logged(client: AsyncTestClient, command_id: str) -> dict:
    response = await client.get(f"{COMMANDS}/{command_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def listed(client: AsyncTestClient, **params: object) -> list[str]:
    """Command ids of every page, following next_cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {k: str(v) for k, v in params.items()} | ({"cursor": cursor} if cursor else {})
        response = await client.get(COMMANDS, params=query)
        assert response.status_code == 200, response.text
        ids += [c["command_id"] for c in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids
        assert len(ids) < 1000, "the cursor never ends"


async def test_an_accepted_command_is_logged(client: AsyncTestClient) -> None:
    actor = f"alice-{uuid.uuid4().hex[:6]}"
    data = user()
    command_id, answer = await send(client, data, actor=actor)
    assert answer["command_id"] == command_id
    entry = await logged(client, command_id)
    assert (entry["type"], entry["status"], entry["http_status"]) == ("CreateUser", "accepted", 200)
    assert entry["error"] is None
    assert entry["event_ids"] == [e["event_id"] for e in answer["events"]]
    assert entry["aggregate_id"] == answer["aggregate_id"]
    assert entry["actor"] == actor
    assert entry["request"]["data"] == data
    assert isinstance(entry["duration_ms"], int)
    assert entry["duration_ms"] >= 0
    # the actor travels with the event, too
    event = (await client.get(f"/api/v1/cqrs/events/{entry['event_ids'][0]}")).json()
    assert event["metadata"]["actor"] == actor
    assert event["metadata"]["command_id"] == command_id


async def test_a_rejected_command_is_logged_with_its_error(client: AsyncTestClient) -> None:
    command_id, answer = await send(client, user(age=12), actor="bob")
    entry = await logged(client, command_id)
    assert (entry["status"], entry["http_status"]) == ("rejected", 422)
    assert entry["error"] == answer
    assert entry["error"]["error"]["code"] == "validation_failed"
    assert entry["event_ids"] == []
    assert entry["actor"] == "bob"
    assert entry["duration_ms"] >= 0


async def test_an_unknown_command_id_is_404(client: AsyncTestClient) -> None:
    assert error_of(await client.get(f"{COMMANDS}/{uuid.uuid4()}"), 404)["code"] == "not_found"


async def test_list_filters_and_cursor_walk(client: AsyncTestClient) -> None:
    since = datetime.now(UTC)
    accepted = [(await send(client, user()))[0] for _ in range(3)]
    middle = datetime.now(UTC)
    rejected = [(await send(client, user(name="x")))[0] for _ in range(2)]
    accepted.append((await send(client, user()))[0])
    until = datetime.now(UTC)
    mine = accepted + rejected
    newest_first = [*reversed(accepted[3:]), *reversed(rejected), *reversed(accepted[:3])]

    window = {"since": since.isoformat(), "until": until.isoformat()}
    assert await listed(client, **window) == newest_first
    assert await listed(client, **window, limit=2) == newest_first  # walked two at a time
    assert await listed(client, **window, status="rejected") == list(reversed(rejected))
    assert await listed(client, **window, status="accepted", limit=2) == list(reversed(accepted))
    assert await listed(client, **window, type="CreateUser", limit=2) == newest_first
    assert await listed(client, **window, type="DeleteUser") == []
    assert await listed(client, since=since.isoformat(), until=middle.isoformat()) == list(
        reversed(accepted[:3])
    )
    assert set(await listed(client, since=middle.isoformat(), limit=2)) >= set(mine[3:])


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        cursor_of("2024-01-01T00:00:00+00:00"),
        cursor_of(17, "id"),
    ],
    ids=["not-base64", "not-a-list", "one-value-of-two", "number-for-a-time"],
)
async def test_a_bad_cursor_is_400(client: AsyncTestClient, cursor: str) -> None:
    error = error_of(await client.get(COMMANDS, params={"cursor": cursor}), 400)
    assert error["code"] == "bad_request"
    assert set(error) == {"code", "message", "details"}
