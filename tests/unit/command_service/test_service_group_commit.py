"""Group commit through CommandService: commands sent at once share one batch, each is
decided on the state the ones before it staged, a refusal stays its own, and a batch
that clashes (or deadlocks) is run again command by command, where each is retried or
refused alone and nothing is written twice. (The batcher itself: test_group_commit.py.)"""

import asyncio
import uuid

from tests.unit.command_service.helpers import DeadlockingStore, Service, unique_email, user_data


async def test_commands_sent_at_once_are_one_batch_each_with_its_own_answer() -> None:
    s = Service()
    answers = await asyncio.gather(*(s.send("CreateUser", user_data()) for _ in range(10)))
    assert [a.http_status for a in answers] == [200] * 10
    assert s.service.group_commit_stats() == {"batches": 1, "commands": 10, "clashed": 0}
    assert s.commits == [None]  # one commit, one wake-up of the relay
    # each answer names the position its event really got
    answered = {e["event_id"]: e["position"] for a in answers for e in a.body["events"]}
    assert answered == {e.event_id: e.position for e in s.store.tables.events}
    assert len(set(answered.values())) == 10


async def test_commands_on_one_stream_in_a_batch_each_see_the_one_before() -> None:
    s = Service()
    uid = await s.new_user()
    answers = await asyncio.gather(
        *(s.send("UpdateUser", {"id": uid, "age": age}) for age in range(20, 30))
    )
    assert [a.http_status for a in answers] == [200] * 10
    assert sorted(a.body["version"] for a in answers) == list(range(2, 12))
    assert s.service.group_commit_stats()["clashed"] == 0
    assert [e.version for e in s.stream(uid)] == list(range(1, 12))


async def test_a_command_decided_on_a_staged_delete_is_refused_alone_in_the_batch() -> None:
    s = Service()
    uid = await s.new_user()
    deleted, updated, created = await asyncio.gather(
        s.send("DeleteUser", {"id": uid}),
        s.send("UpdateUser", {"id": uid, "age": 70}),
        s.send("CreateUser", user_data()),
    )
    assert (deleted.http_status, updated.http_status, created.http_status) == (200, 409, 200)
    assert updated.body["error"]["code"] == "user_deleted"
    assert s.logged(updated.command_id) == ("rejected", 409)
    assert s.service.group_commit_stats() == {"batches": 2, "commands": 4, "clashed": 0}


async def test_one_email_twice_in_a_batch_goes_one_by_one_and_to_exactly_one() -> None:
    s = Service()
    email = unique_email()
    answers = await asyncio.gather(
        s.send("CreateUser", user_data(email)),
        s.send("CreateUser", user_data()),
        s.send("CreateUser", user_data(email.upper())),
    )
    assert [a.http_status for a in answers] == [200, 200, 409]
    assert answers[2].body["error"]["code"] == "email_taken"
    assert s.service.group_commit_stats()["clashed"] == 1
    winner = answers[0].body["aggregate_id"]
    assert s.store.tables.claims[("user_email", email)] == winner
    users = {e.stream_id for e in s.store.tables.events}
    assert users == {answers[0].body["aggregate_id"], answers[1].body["aggregate_id"]}
    assert len(s.store.tables.events) == 2  # nothing of the loser, nothing twice


async def test_a_deadlocked_batch_is_written_command_by_command() -> None:
    s = Service(DeadlockingStore())
    unknown = str(uuid.uuid4())
    answers = await asyncio.gather(
        s.send("CreateUser", user_data()),
        s.send("UpdateUser", {"id": unknown, "age": 50}),
        s.send("CreateUser", user_data()),
    )
    assert [a.http_status for a in answers] == [200, 404, 200]
    assert s.service.group_commit_stats() == {"batches": 1, "commands": 3, "clashed": 1}
    assert len(s.store.tables.events) == 2
    assert len(s.store.tables.outbox) == 2
    assert [s.logged(a.command_id) for a in answers] == [
        ("accepted", 200),
        ("rejected", 404),
        ("accepted", 200),
    ]
    assert len(s.commits) == 2  # each accepted command's own commit
