"""Idempotency keys through CommandService: a repeated request gets its first answer
(accepted or refused) and runs nothing again; the key sent with another request is a
422 idempotency_key_reused, logged, and leaves the first answer in place."""

import asyncio
import uuid
from typing import Any

from command_service.application.service import Caller
from tests.unit.command_service.helpers import Service, error_code, user_data


async def test_a_repeated_key_replays_the_first_answer_and_appends_once() -> None:
    s = Service()
    key, data = uuid.uuid4().hex, user_data()
    first = await s.send("CreateUser", data, idempotency_key=key)
    again = await s.send("CreateUser", data, caller=Caller(idempotency_key=key))
    assert again.http_status == 200
    assert again.body == first.body
    assert len(s.store.tables.events) == 1
    assert list(s.store.tables.command_log) == [first.command_id]


async def test_a_refused_first_answer_is_replayed_even_once_the_command_could_pass() -> None:
    s = Service()
    uid = await s.new_user(age=30)
    key = uuid.uuid4().hex
    refused = await s.send("UpdateUser", {"id": uid, "age": 30}, idempotency_key=key)
    assert error_code(refused, 409) == "nothing_to_change"
    await s.accept("UpdateUser", {"id": uid, "age": 31})  # now age 30 would change it
    again = await s.send("UpdateUser", {"id": uid, "age": 30}, idempotency_key=key)
    assert (again.http_status, again.body) == (409, refused.body)
    assert [e.version for e in s.stream(uid)] == [1, 2]


async def test_a_key_reused_for_another_request_is_422_and_runs_nothing() -> None:
    s = Service()
    uid = await s.new_user(age=30)
    key = uuid.uuid4().hex
    first = await s.send("UpdateUser", {"id": uid, "age": 31}, idempotency_key=key)
    assert first.http_status == 200
    others: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("UpdateUser", {"id": uid, "age": 32}, {}),  # other data
        ("DeleteUser", {"id": uid}, {}),  # another type
        ("UpdateUser", {"id": uid, "age": 31}, {"expected_version": 2}),  # a pinned version
    ]
    for type_, data, envelope in others:
        reused = await s.send(type_, data, idempotency_key=key, **envelope)
        assert error_code(reused, 422) == "idempotency_key_reused"
        assert reused.body["error"]["details"]["command_id"] == first.command_id
        assert s.logged(reused.command_id) == ("rejected", 422)
    assert [e.version for e in s.stream(uid)] == [1, 2]
    replay = await s.send("UpdateUser", {"id": uid, "age": 31}, idempotency_key=key)
    assert replay.body == first.body


async def test_one_key_sent_at_once_creates_one_user() -> None:
    s = Service()
    key, data = uuid.uuid4().hex, user_data()
    answers = await asyncio.gather(
        *(s.send("CreateUser", data, idempotency_key=key) for _ in range(4))
    )
    assert {a.http_status for a in answers} == {200}
    assert len({a.body["aggregate_id"] for a in answers}) == 1
    assert len(s.store.tables.events) == 1
    assert s.service.group_commit_stats()["clashed"] == 1  # the key twice in one batch


async def test_a_command_id_used_before_is_a_409_and_appends_nothing() -> None:
    s = Service()
    command_id = str(uuid.uuid4())
    await s.accept("CreateUser", user_data(), id=command_id)
    again = await s.send("CreateUser", user_data(), id=command_id)
    assert error_code(again, 409) == "conflict"
    assert again.body["error"]["details"] == {"field": "id"}
    assert len(s.store.tables.events) == 1
    assert s.logged(command_id) == ("accepted", 200)  # the first command keeps its row


async def test_a_command_id_used_before_with_a_key_remembers_the_refusal() -> None:
    s = Service()
    command_id, key = str(uuid.uuid4()), uuid.uuid4().hex
    await s.accept("CreateUser", user_data(), id=command_id)
    data = user_data()
    refused = await s.send("CreateUser", data, id=command_id, idempotency_key=key)
    assert error_code(refused, 409) == "conflict"
    again = await s.send("CreateUser", data, id=command_id, idempotency_key=key)
    assert (again.http_status, again.body) == (409, refused.body)
    assert len(s.store.tables.events) == 1
