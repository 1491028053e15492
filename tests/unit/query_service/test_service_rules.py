"""QueryService rules around a read: disabled, unknown and invalid queries (400 and 422
shapes), consistency tokens (reached, timed out with what is behind, stale allowed), and
the query log's record of every answer (none with auditing off), personal values redacted."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from cqrs_contracts.handlers import parse_query_declaration
from cqrs_contracts.queries import QUERY_TYPES
from cqrs_contracts.read_models import UserReadModel
from query_service.queries.redaction import REDACTED, redacted
from tests.unit.query_service.conftest import World

ANN = UserReadModel(id="u1", name="Ann", versions={"u1": 2})
SHORT = {"query_service": {"consistency_timeout": 0.05}}
DECLARED = parse_query_declaration(
    {"name": "ByName", "read_model": "UserReadModel", "projection": ["name"]}
)


async def test_a_disabled_built_in_type_is_a_400_naming_it(world: World) -> None:
    world.service.use({}, frozenset({"GetUser"}))
    reply = await world.ask("GetUser", {"id": "u1"})
    assert reply.status == 400
    assert reply.body["error"]["code"] == "query_disabled"
    assert reply.body["error"]["details"] == {"type": "GetUser"}


async def test_an_unknown_type_is_a_400_listing_the_supported_ones(world: World) -> None:
    world.service.use({DECLARED.name: DECLARED}, frozenset())
    reply = await world.ask("GetNothing")
    assert reply.status == 400
    assert reply.body["error"]["code"] == "unknown_type"
    assert reply.body["error"]["details"] == {"supported": [*sorted(QUERY_TYPES), "ByName"]}


async def test_a_type_outside_the_supported_ones_is_unknown(
    world_with: Callable[..., World],
) -> None:
    world = world_with(cqrs={"supported_query_types": ["GetUser", "ListUsers"]})
    world.read_models.put(ANN)
    refused = await world.ask("GetOrder", {"id": "o1"})
    assert refused.status == 400
    assert refused.body["error"]["details"] == {"supported": ["GetUser", "ListUsers"]}
    assert (await world.ask("GetUser", {"id": "u1"})).status == 200


async def test_invalid_data_is_a_422_naming_every_field(world: World) -> None:
    reply = await world.ask("ListUsers", {"limit": 0, "min_age": "old", "colour": "red"})
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_failed"
    fields = {f["field"]: f["rule"] for f in reply.body["error"]["details"]["fields"]}
    assert fields == {
        "limit": "greater_than_equal",
        "min_age": "int_parsing",
        "colour": "extra_forbidden",
    }
    missing = await world.ask("GetUser", {})
    assert [(f["field"], f["rule"]) for f in missing.body["error"]["details"]["fields"]] == [
        ("id", "missing")
    ]


async def test_a_token_already_reached_answers_fresh_data(world: World) -> None:
    world.read_models.put(ANN)
    world.waiter.raise_applied("u1", 2)
    reply = await world.ask("GetUser", {"id": "u1"}, token="user:u1@2")
    assert (reply.status, reply.body["stale"], reply.headers) == (200, False, {})


async def test_a_query_waits_for_its_token(world: World) -> None:
    world.read_models.put(ANN)
    asking = asyncio.create_task(world.ask("GetUser", {"id": "u1"}, token="user:u1@2,order:o1@1"))
    world.waiter.raise_applied("u1", 2)
    await asyncio.sleep(0)
    assert not asking.done()
    world.waiter.raise_applied("o1", 1)
    reply = await asking
    assert (reply.status, reply.body["stale"]) == (200, False)


async def test_a_token_not_reached_in_time_is_a_504_naming_what_is_behind(
    world_with: Callable[..., World],
) -> None:
    world = world_with(**SHORT)
    world.read_models.put(ANN)
    world.waiter.raise_applied("u1", 2)
    reply = await world.ask("GetUser", {"id": "u1"}, token="user:u1@2,order:o1@4")
    assert reply.status == 504
    assert reply.body["error"]["code"] == "timeout"
    assert reply.body["error"]["details"] == {"behind": ["order:o1@4"]}
    assert reply.headers == {}


async def test_past_the_wait_stale_data_is_answered_when_allowed(
    world_with: Callable[..., World],
) -> None:
    world = world_with(**SHORT)
    world.read_models.put(ANN)
    by_header = await world.ask("GetUser", {"id": "u1"}, token="user:u1@3", allow_stale=True)
    in_body = await world.ask("GetUser", {"id": "u1"}, token="user:u1@3", stale_in_body=True)
    for reply in (by_header, in_body):
        assert (reply.status, reply.body["stale"]) == (200, True)
        assert reply.headers == {"X-Consistency": "stale"}
        assert reply.body["result"]["name"] == "Ann"


async def test_a_malformed_token_is_a_400(world: World) -> None:
    reply = await world.ask("GetUser", {"id": "u1"}, token="user-without-version")
    assert (reply.status, reply.body["error"]["code"]) == (400, "bad_request")


async def test_every_answer_is_logged_with_who_what_and_how(world: World) -> None:
    world.read_models.put(ANN)
    before = datetime.now(UTC)
    store = await world.ask("GetUser", {"id": "u1"}, actor="alice")
    cache = await world.ask("GetUser", {"id": "u1"}, actor=None)
    missing = await world.ask("GetUser", {"id": "u2"}, actor="bob")
    entries = world.log.entries
    ids = [e["query_id"] for e in entries]
    assert ids[:2] == [store.body["query_id"], cache.body["query_id"]]
    assert len(set(ids)) == 3  # an error answer has a query id of its own
    assert [(e["actor"], e["status"], e["source"], e["stale"]) for e in entries] == [
        ("alice", 200, "store", False),
        (None, 200, "cache", False),
        ("bob", 404, "store", False),
    ]
    assert missing.status == 404
    for entry in entries:
        assert (entry["type"], set(entry["data"])) == ("GetUser", {"id"})
        assert entry["duration_ms"] >= 0
        assert before <= entry["at"] <= datetime.now(UTC)


async def test_a_stale_answer_is_logged_stale(world_with: Callable[..., World]) -> None:
    world = world_with(**SHORT)
    world.read_models.put(ANN)
    await world.ask("GetUser", {"id": "u1"}, token="user:u1@9", allow_stale=True)
    await world.ask("GetUser", {"id": "u1"}, token="user:u1@9")
    assert [(e["status"], e["stale"]) for e in world.log.entries] == [(200, True), (504, False)]


async def test_with_auditing_off_nothing_is_logged(world_with: Callable[..., World]) -> None:
    world = world_with(cqrs={"auditing_enabled": False})
    world.read_models.put(ANN)
    assert (await world.ask("GetUser", {"id": "u1"})).status == 200
    assert (await world.ask("Nope")).status == 400
    assert world.log.entries == []


async def test_the_log_keeps_no_personal_value_a_query_filtered_by(world: World) -> None:
    world.read_models.put(ANN)
    await world.ask("ListUsers", {"email": "ann@example.com", "name": "Ann", "min_age": 30})
    await world.ask("GetUser", {"id": "u1"})

    listed, got = world.log.entries
    assert listed["data"] == {"email": REDACTED, "name": REDACTED, "min_age": 30}
    assert got["data"] == {"id": "u1"}
    assert "ann" not in str(world.log.entries).lower()


def test_personal_values_are_redacted_at_any_depth_and_none_is_kept() -> None:
    declared = {"params": {"email": {"in": ["a@x.io"]}, "status": "paid"}, "name": None}
    assert redacted(declared) == {"params": {"email": REDACTED, "status": "paid"}, "name": None}
    assert redacted([{"name": "Ada"}, 3]) == [{"name": REDACTED}, 3]
