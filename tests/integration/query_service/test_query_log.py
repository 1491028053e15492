"""The query log: every query (answered or refused) with who asked, what, the outcome,
cache or store and how long it took; readable one by one and as a paged list; trimmed to
the newest `cqrs.max_queries` entries by retention."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from query_service.queries.redaction import REDACTED
from tests.integration.query_service.helpers import (
    QUERIES,
    answer,
    ask,
    error_of,
    new_order,
    new_user,
    tag,
)
from tests.support.polling import eventually


async def logged(queries: AsyncTestClient, query_id: str) -> dict[str, Any]:
    """The log entry of a query (written asynchronously: a short bounded poll)."""

    async def entry() -> dict[str, Any] | None:
        response = await queries.get(f"{QUERIES}/{query_id}")
        return response.json() if response.status_code == 200 else None

    return dict(await eventually(entry, timeout=5, what=f"the log entry of {query_id}"))


async def test_one_query_is_logged(commands: AsyncTestClient, queries: AsyncTestClient) -> None:
    uid, token = await new_user(commands)
    actor = f"alice-{tag()}"
    first = await answer(queries, "GetUser", {"id": uid}, token, X_Actor=actor)
    second = await answer(queries, "GetUser", {"id": uid}, X_Actor=actor)

    entry = await logged(queries, first["query_id"])
    assert entry["query_id"] == first["query_id"]
    assert (entry["type"], entry["data"], entry["status"]) == ("GetUser", {"id": uid}, 200)
    assert (entry["actor"], entry["source"], entry["stale"]) == (actor, "store", False)
    assert isinstance(entry["duration_ms"], int | float)
    assert entry["duration_ms"] >= 0
    assert datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)

    cached = await logged(queries, second["query_id"])
    assert (cached["source"], cached["actor"]) == ("cache", actor)


async def test_the_log_lists_by_type(commands: AsyncTestClient, queries: AsyncTestClient) -> None:
    uid, token = await new_user(commands)
    query_id = (await answer(queries, "GetUser", {"id": uid}, token))["query_id"]
    await logged(queries, query_id)
    page = (await queries.get(QUERIES, params={"type": "GetUser", "limit": 100})).json()
    assert {e["type"] for e in page["items"]} == {"GetUser"}
    assert query_id in [e["query_id"] for e in page["items"]]
    other = (await queries.get(QUERIES, params={"type": "ListPayments", "limit": 100})).json()
    assert query_id not in [e["query_id"] for e in other["items"]]


async def test_refused_queries_are_logged_too(queries: AsyncTestClient) -> None:
    actor = f"mallory-{tag()}"
    since = datetime.now(UTC).isoformat()
    injected = {"email": {"$ne": None}, "$or": [{"name": {"$gt": ""}}]}
    assert (await ask(queries, "ListUsers", injected, X_Actor=actor)).status_code == 422
    assert (await ask(queries, "GetOrder", {"id": f"no-{tag()}"}, X_Actor=actor)).status_code == 404

    async def mine() -> list[dict[str, Any]] | None:
        page = (await queries.get(QUERIES, params={"since": since, "limit": 100})).json()
        found = [e for e in page["items"] if e["actor"] == actor]
        return found if len(found) == 2 else None

    not_found, refused = await eventually(mine, timeout=5, what=f"two log entries by {actor}")
    assert (not_found["type"], not_found["status"]) == ("GetOrder", 404)
    assert (refused["type"], refused["status"]) == ("ListUsers", 422)
    # what it asked for, with no personal value: those are never kept in the log
    assert refused["data"] == {"email": REDACTED, "$or": [{"name": REDACTED}]}


async def test_cursor_paging_over_the_log(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    user, token = await new_user(commands)
    order, token = await new_order(commands, user)
    since = datetime.now(UTC).isoformat()
    made = [(await answer(queries, "GetOrder", {"id": order}, token))["query_id"]]
    for _ in range(4):
        made.append((await answer(queries, "GetOrder", {"id": order}))["query_id"])
    for query_id in made:
        await logged(queries, query_id)

    walked: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"type": "GetOrder", "since": since, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await queries.get(QUERIES, params=params)).json()
        assert len(page["items"]) <= 2
        walked += [e["query_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == list(reversed(made))  # newest first, each once


async def test_an_unknown_query_id_is_404(queries: AsyncTestClient) -> None:
    error = error_of(await queries.get(f"{QUERIES}/{tag()}"), 404)
    assert error["code"] == "not_found"


async def test_log_limit_is_bounded(queries: AsyncTestClient) -> None:
    assert (await queries.get(QUERIES, params={"limit": 101})).status_code == 400
    assert (await queries.get(QUERIES, params={"limit": 0})).status_code == 400


# --- retention ------------------------------------------------------------------------------


@pytest.fixture
async def log_db(mongo_client: AsyncMongoClient, mongo_database: str) -> AsyncIterator[str]:
    """A read-store database of its own, so the log holds only this test's queries."""
    name = f"{mongo_database}_log{tag()[:6]}"
    yield name
    await mongo_client.drop_database(name)


async def ask_many(client: AsyncTestClient, n: int) -> list[str]:
    """The ids of `n` answered queries, oldest first, 2 ms apart (the log's time is in ms)."""
    made = []
    for i in range(n):
        made.append((await answer(client, "ListUsers", {"name": f"nobody {i}"}))["query_id"])
        await asyncio.sleep(0.002)
    return made


async def newest_first(client: AsyncTestClient) -> list[str]:
    page = (await client.get(QUERIES, params={"limit": 100})).json()
    return [e["query_id"] for e in page["items"]]


async def test_retention_keeps_the_newest_max_queries(
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]], log_db: str
) -> None:
    """The retention step (the timer's, and POST /cleanup's): the newest `max_queries`
    entries stay, the older ones go, and it answers how many it removed."""
    async with query_client_with(MONGODB_DB=log_db, CQRS__CQRS__MAX_QUERIES="3") as small:
        made = await ask_many(small, 7)
        for query_id in made:
            await logged(small, query_id)
        assert await newest_first(small) == list(reversed(made))

        log = small.app.dependencies["container"].dependency().query_log
        assert small.blocking_portal.call(log.trim) == 4
        assert await newest_first(small) == list(reversed(made[-3:]))
        for gone in made[:4]:
            assert error_of(await small.get(f"{QUERIES}/{gone}"), 404)["code"] == "not_found"
        assert small.blocking_portal.call(log.trim) == 0  # nothing more to remove


async def test_the_retention_timer_trims_the_log(
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]], log_db: str
) -> None:
    """`cqrs.cleanup_interval`: the running service applies retention by itself."""
    settings = {"CQRS__CQRS__MAX_QUERIES": "2", "CQRS__CQRS__CLEANUP_INTERVAL": "50ms"}
    async with query_client_with(MONGODB_DB=log_db, **settings) as small:
        made = await ask_many(small, 5)

        async def trimmed() -> bool:
            return await newest_first(small) == list(reversed(made[-2:]))

        assert await eventually(trimmed, timeout=10, what="the log trimmed to the newest two")
