"""The user commands through the real HTTP app, MariaDB and Kafka."""

import uuid

from litestar.testing import AsyncTestClient

from tests.integration.command_service.helpers import (
    COMMANDS,
    EVENTS,
    create_user,
    error_of,
    unique_email,
)


async def test_original_create_user_body_is_accepted(client: AsyncTestClient) -> None:
    answer = await create_user(client)
    assert answer["status"] == "accepted"
    assert answer["version"] == 1
    [event] = answer["events"]
    assert event["type"] == "UserCreated"
    assert event["stream_id"] == answer["aggregate_id"]
    assert answer["consistency_token"] == f"user:{answer['aggregate_id']}@1"


async def test_invalid_user_gets_one_error_per_field(client: AsyncTestClient) -> None:
    response = await client.post(
        COMMANDS, json={"type": "CreateUser", "data": {"name": "J", "email": "nope", "age": 12}}
    )
    assert response.status_code == 422
    fields = {f["field"]: f["rule"] for f in response.json()["error"]["details"]["fields"]}
    assert fields == {"name": "min_length", "email": "format", "age": "min"}


async def test_unknown_type_is_400(client: AsyncTestClient) -> None:
    response = await client.post(COMMANDS, json={"type": "LaunchRocket", "data": {}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_type"


async def test_email_is_unique_across_users(client: AsyncTestClient) -> None:
    email = unique_email()
    await create_user(client, email=email)
    response = await client.post(
        COMMANDS,
        json={"type": "CreateUser", "data": {"name": "Other", "email": email.upper(), "age": 40}},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_update_unknown_user_is_404(client: AsyncTestClient) -> None:
    response = await client.post(
        COMMANDS, json={"type": "UpdateUser", "data": {"id": str(uuid.uuid4()), "age": 40}}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_expected_version_mismatch_is_409_with_current(client: AsyncTestClient) -> None:
    user = await create_user(client)
    response = await client.post(
        COMMANDS,
        json={
            "type": "UpdateUser",
            "data": {"id": user["aggregate_id"], "age": 41},
            "expected_version": 5,
        },
    )
    assert response.status_code == 409
    details = response.json()["error"]["details"]
    assert (details["expected_version"], details["current_version"]) == (5, 1)


async def test_idempotency_key_replays_first_answer(client: AsyncTestClient) -> None:
    key = uuid.uuid4().hex
    body = {"type": "CreateUser", "data": {"name": "Idem", "email": unique_email(), "age": 33}}
    first = await client.post(COMMANDS, json=body, headers={"Idempotency-Key": key})
    second = await client.post(COMMANDS, json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    events = await client.get(
        "/api/v1/cqrs/events", params={"aggregate_id": first.json()["aggregate_id"]}
    )
    assert len(events.json()["items"]) == 1


async def test_idempotency_key_in_the_body_replays_first_answer(client: AsyncTestClient) -> None:
    user = await create_user(client, age=30)
    body = {
        "type": "UpdateUser",
        "data": {"id": user["aggregate_id"], "age": 31},
        "idempotency_key": uuid.uuid4().hex,
    }
    first = await client.post(COMMANDS, json=body)
    second = await client.post(COMMANDS, json=body)
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert second.json() == first.json()
    assert first.json()["version"] == 2
    events = await client.get(EVENTS, params={"aggregate_id": user["aggregate_id"]})
    assert [e["version"] for e in events.json()["items"]] == [1, 2]


async def test_update_to_an_email_another_user_holds_is_409(client: AsyncTestClient) -> None:
    taken = unique_email()
    await create_user(client, email=taken)
    other = (await create_user(client))["aggregate_id"]
    response = await client.post(
        COMMANDS, json={"type": "UpdateUser", "data": {"id": other, "email": taken.upper()}}
    )
    assert error_of(response, 409)["code"] == "email_taken"
    events = await client.get(EVENTS, params={"aggregate_id": other})
    assert [e["type"] for e in events.json()["items"]] == ["UserCreated"]
