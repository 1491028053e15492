"""The event log: GET one, GET a filtered page, walk the cursor; POST (admin append)."""

import base64
import json
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.command_service.helpers import (
    EVENTS,
    accept,
    create_user,
    error_of,
    unique_email,
)


def readme_user_created(user_id: str, email: str | None = None) -> dict:
    """The original README's "Publishing an Event" body, for another user id (and, since
    an import claims its email as CreateUser does, another email)."""
    return {
        "type": "UserCreated",
        "data": {
            "user_id": user_id,
            "name": "John Doe",
            "email": email or unique_email(),
            "created_at": "2023-01-01T00:00:00Z",
        },
    }


async def user_with_events(client: AsyncTestClient, updates: int) -> tuple[str, list[dict]]:
    """A user whose stream holds 1 + `updates` events; its id and events in order."""
    answer = await create_user(client, age=20)
    user_id, events = answer["aggregate_id"], list(answer["events"])
    for age in range(21, 21 + updates):
        events += (await accept(client, "UpdateUser", {"id": user_id, "age": age}))["events"]
    return user_id, events


async def walk(client: AsyncTestClient, **params: object) -> list[list[dict]]:
    """Every page of GET /events with these filters, following next_cursor."""
    pages, cursor = [], None
    while True:
        query: dict[str, Any] = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(EVENTS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


async def test_get_one_event(client: AsyncTestClient) -> None:
    answer = await create_user(client)
    [event] = answer["events"]
    response = await client.get(f"{EVENTS}/{event['event_id']}")
    assert response.status_code == 200
    assert response.json() == event


async def test_get_an_unknown_event_is_404(client: AsyncTestClient) -> None:
    response = await client.get(f"{EVENTS}/{uuid.uuid4()}")
    assert error_of(response, 404)["code"] == "not_found"


async def test_filter_by_type_and_aggregate(client: AsyncTestClient) -> None:
    user_id, events = await user_with_events(client, updates=2)
    by_stream = (await client.get(EVENTS, params={"aggregate_id": user_id})).json()
    assert [e["event_id"] for e in by_stream["items"]] == [e["event_id"] for e in events]
    assert by_stream["next_cursor"] is None

    both = {"aggregate_id": user_id, "type": "UserUpdated"}
    updated = (await client.get(EVENTS, params=both)).json()["items"]
    assert [e["version"] for e in updated] == [2, 3]

    some = (await client.get(EVENTS, params={"type": "UserUpdated", "limit": 20})).json()
    assert some["items"]
    assert {e["type"] for e in some["items"]} == {"UserUpdated"}


async def test_filter_by_position_range(client: AsyncTestClient) -> None:
    _, events = await user_with_events(client, updates=3)
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    low, high = positions[1], positions[2]
    params = {"from_position": low, "to_position": high}
    items = (await client.get(EVENTS, params=params)).json()["items"]
    assert [e["position"] for e in items] == [low, high]  # nothing was stored in between


async def test_cursor_walk_with_limit_2_has_no_gaps_and_no_duplicates(
    client: AsyncTestClient,
) -> None:
    user_id, events = await user_with_events(client, updates=4)
    pages = await walk(client, aggregate_id=user_id, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    walked = [e["event_id"] for page in pages for e in page]
    assert walked == [e["event_id"] for e in events]

    # the same over the global log from the first of these events on
    start = events[0]["position"]
    everything = (await client.get(EVENTS, params={"from_position": start, "limit": 100})).json()
    pages = await walk(client, from_position=start, limit=2)
    walked_positions = [e["position"] for page in pages for e in page]
    assert walked_positions == [e["position"] for e in everything["items"]]
    assert len(set(walked_positions)) == len(walked_positions)


async def test_post_the_original_readme_event(client: AsyncTestClient) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    body = readme_user_created(user_id)
    response = await client.post(EVENTS, json=body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["stream_type"], stored["stream_id"], stored["version"]) == (
        "user",
        user_id,
        1,
    )
    assert stored["type"] == "UserCreated"
    assert stored["data"]["email"] == body["data"]["email"]
    again = await client.get(f"{EVENTS}/{stored['event_id']}")
    assert again.status_code == 200
    assert again.json() == stored


async def test_post_an_incomplete_event_names_the_missing_field(client: AsyncTestClient) -> None:
    body = readme_user_created(f"user-{uuid.uuid4().hex[:12]}")
    del body["data"]["email"]
    error = error_of(await client.post(EVENTS, json=body), 422)
    assert error["code"] == "validation_failed"
    assert [f["field"] for f in error["details"]["fields"]] == ["data.email"]


async def test_post_with_a_stale_expected_version_is_409(client: AsyncTestClient) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    first = await client.post(EVENTS, json=readme_user_created(user_id) | {"expected_version": 0})
    assert first.status_code == 201, first.text
    update = {
        "type": "UserUpdated",
        "data": {"user_id": user_id, "age": 31, "updated_at": "2023-01-02T00:00:00Z"},
        "expected_version": 0,
    }
    error = error_of(await client.post(EVENTS, json=update), 409)
    assert error["code"] == "version_conflict"
    assert (error["details"]["expected_version"], error["details"]["current_version"]) == (0, 1)

    right = await client.post(EVENTS, json=update | {"expected_version": 1})
    assert right.status_code == 201, right.text
    assert right.json()["version"] == 2


async def test_post_an_unknown_event_type_is_400(client: AsyncTestClient) -> None:
    body = {"type": "RocketLaunched", "data": {"id": "r-1"}}
    assert error_of(await client.post(EVENTS, json=body), 400)["code"] == "unknown_type"


async def test_a_v1_user_created_is_upcast(client: AsyncTestClient) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    body = readme_user_created(user_id) | {"schema_version": 1}
    response = await client.post(EVENTS, json=body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["schema_version"] == 2
    assert "age" in stored["data"]
    assert stored["data"]["age"] is None
    read = (await client.get(f"{EVENTS}/{stored['event_id']}")).json()
    assert (read["schema_version"], read["data"]["age"]) == (2, None)


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["%%%", cursor_of("twelve"), cursor_of(1, 2)],
    ids=["not-base64", "not-a-position", "two-values-of-one"],
)
async def test_a_bad_cursor_is_400(client: AsyncTestClient, cursor: str) -> None:
    error = error_of(await client.get(EVENTS, params={"cursor": cursor}), 400)
    assert error["code"] == "bad_request"
    assert set(error) == {"code", "message", "details"}
