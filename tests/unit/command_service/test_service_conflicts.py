"""Version clashes through CommandService: another writer changes the stream after the
command was decided. The command is decided again on the new state, up to
`command_service.max_append_retries` times, then refused with 409 version_conflict; a
command that pinned `expected_version` is never retried."""

from collections.abc import Collection

from command_service.adapters.memory_store import MemoryWriteStore
from command_service.application.command_handlers import BUILT_IN
from tests.unit.command_service.helpers import (
    DeadlockingStore,
    Rival,
    Service,
    error_code,
    make_settings,
)


def rivalled(
    strikes: Collection[int], retries: int = 5, store: MemoryWriteStore | None = None
) -> tuple[Service, Rival]:
    s = Service(store or MemoryWriteStore(), make_settings(max_append_retries=retries))
    rival = Rival(s.store, strikes)
    s.service.use({**BUILT_IN, "UpdateUser": rival.spec()}, frozenset())
    return s, rival


async def test_a_clash_is_decided_again_on_the_new_state_and_succeeds() -> None:
    s, rival = rivalled(strikes={1, 2})
    uid = await s.new_user()
    answer = await s.send("UpdateUser", {"id": uid, "age": 44})
    assert answer.http_status == 200, answer.body
    # its batch clashed, then it ran alone: clashed once more, then passed
    assert rival.decided == 3
    assert s.service.group_commit_stats()["clashed"] == 1
    assert answer.body["version"] == 4  # after the rival's two events
    types = [(e.type, e.metadata.actor) for e in s.stream(uid)]
    assert types == [
        ("UserCreated", "unit"),
        ("UserUpdated", "rival"),
        ("UserUpdated", "rival"),
        ("UserUpdated", "unit"),
    ]
    assert s.logged(answer.command_id) == ("accepted", 200)


async def test_clashes_beyond_the_retries_are_a_409_version_conflict() -> None:
    s, rival = rivalled(strikes=range(100), retries=2)
    uid = await s.new_user()
    answer = await s.send("UpdateUser", {"id": uid, "age": 44})
    assert error_code(answer, 409) == "version_conflict"
    assert answer.body["error"]["details"]["stream_id"] == uid
    assert rival.decided == 1 + 3  # the batch, then the first try and two retries
    assert s.logged(answer.command_id) == ("rejected", 409)
    assert {e.metadata.actor for e in s.stream(uid)[1:]} == {"rival"}


async def test_no_retries_configured_means_one_try_alone() -> None:
    s, rival = rivalled(strikes=range(100), retries=0)
    uid = await s.new_user()
    answer = await s.send("UpdateUser", {"id": uid, "age": 44})
    assert error_code(answer, 409) == "version_conflict"
    assert rival.decided == 2


async def test_a_pinned_expected_version_found_stale_is_refused_without_a_retry() -> None:
    s, rival = rivalled(strikes={1})
    uid = await s.new_user()
    answer = await s.send("UpdateUser", {"id": uid, "age": 44}, expected_version=1)
    assert error_code(answer, 409) == "version_conflict"
    details = answer.body["error"]["details"]
    assert (details["expected_version"], details["current_version"]) == (1, 2)
    assert rival.decided == 2  # the batch, then once alone (where it found version 2)


async def test_a_pinned_expected_version_that_clashes_is_not_retried() -> None:
    # the batch fails (a deadlock); alone, the rival commits between its load and commit
    s, rival = rivalled(strikes={2}, store=DeadlockingStore())
    uid = await s.new_user()
    answer = await s.send("UpdateUser", {"id": uid, "age": 44}, expected_version=1)
    assert error_code(answer, 409) == "version_conflict"
    details = answer.body["error"]["details"]
    assert (details["expected_version"], details["current_version"]) == (1, 2)
    assert rival.decided == 2
    assert [e.metadata.actor for e in s.stream(uid)] == ["unit", "rival"]
