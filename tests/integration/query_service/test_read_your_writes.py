"""A command, then at once a query with its consistency token: the query sees the write."""

import uuid

from litestar.testing import AsyncTestClient

COMMANDS, QUERIES = "/api/v1/cqrs/commands", "/api/v1/cqrs/queries"


async def test_query_with_token_always_sees_the_write(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    created = await commands.post(
        COMMANDS,
        json={
            "type": "CreateUser",
            "data": {"name": "Grace", "email": f"{uuid.uuid4().hex}@x.io", "age": 40},
        },
    )
    uid, token = created.json()["aggregate_id"], created.json()["consistency_token"]
    for age in range(41, 51):
        updated = await commands.post(
            COMMANDS, json={"type": "UpdateUser", "data": {"id": uid, "age": age}}
        )
        token = updated.json()["consistency_token"]
        answer = await queries.post(
            QUERIES,
            json={"type": "GetUser", "data": {"id": uid}},
            headers={"X-Consistency-Token": token},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"]["age"] == age
        assert answer.json()["version"] == age - 39


async def test_unknown_query_type_is_400_and_injection_is_422(queries: AsyncTestClient) -> None:
    unknown = await queries.post(QUERIES, json={"type": "DropDatabase", "data": {}})
    assert unknown.status_code == 400
    injected = await queries.post(
        QUERIES, json={"type": "ListUsers", "data": {"email": {"$ne": None}}}
    )
    assert injected.status_code == 422
    assert injected.json()["error"]["details"]["fields"][0]["field"] == "email"
