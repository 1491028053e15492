"""The contract of the `WriteStore` port (application/ports.py), written once and passed
by every adapter: the in-memory store (tests/unit) and the MySQL one (tests/integration).
A fake the service's unit tests rely on is only as good as this suite.

A subclass provides two fixtures: `store` (a `WriteStore` on empty or shared tables:
every test uses fresh ids) and `rows` (a `StoredRows`: what the command log and the
outbox hold, which the port itself does not read back)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from command_service.application.ports import (
    BatchConflictError,
    ClaimTakenError,
    CommandIdTakenError,
    CommandRecord,
    DuplicateKeyError,
    StoredAnswer,
    VersionConflictError,
    WriteStore,
)
from command_service.domain.decisions import StreamChange, email_claim
from command_service.domain.model import User
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.events import UserCreated, UserUpdated

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


class StoredRows(Protocol):
    async def logged(self, command_ids: list[str]) -> set[str]:
        """Which of these command ids the command log holds."""

    async def outbox(self, stream_id: str) -> list[str]:
        """The event ids of the stream's outbox rows, oldest first."""


def new_id() -> str:
    return str(uuid.uuid4())


def created(user_id: str, email: str | None = None) -> StreamChange:
    email = email or f"{user_id}@example.com"
    event = UserCreated(user_id=user_id, name="Contract", email=email, age=30, created_at=NOW)
    return StreamChange("user", user_id, (event,))


def aged(user_id: str, *ages: int) -> StreamChange:
    events = tuple(UserUpdated(user_id=user_id, age=a, updated_at=NOW) for a in ages)
    return StreamChange("user", user_id, events)


def record(command_id: str | None = None, key: str | None = None) -> CommandRecord:
    return CommandRecord(
        command_id=command_id or new_id(),
        type="CreateUser",
        status="accepted",
        http_status=200,
        aggregate_id=None,
        idempotency_key=key,
        actor="contract",
        request={"type": "CreateUser"},
        error=None,
        event_ids=[],
        received_at=NOW,
        duration_ms=1,
    )


def answer(command_id: str, fingerprint: str | None = "f1") -> StoredAnswer:
    return StoredAnswer(command_id, 200, {"command_id": command_id}, fingerprint)


META = EventMetadata(command_id="contract")
LATER = datetime.now(UTC) + timedelta(hours=1)


class WriteStoreContract:
    """Subclass as `Test...` and provide the `store` and `rows` fixtures."""

    @pytest.fixture
    def store(self) -> WriteStore:
        raise NotImplementedError

    @pytest.fixture
    def rows(self, store: WriteStore) -> StoredRows:
        raise NotImplementedError

    # --- streams -------------------------------------------------------------------

    async def test_an_empty_stream_loads_as_nothing(self, store: WriteStore) -> None:
        async with store.session() as session:
            assert await session.load("user", new_id()) is None
            assert session.version_of("x") == 0
            assert session.stream_type_of("x") is None

    async def test_appended_events_load_back_as_the_state(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        uid = new_id()
        async with store.session() as session:
            await session.load("user", uid)
            stored = await session.append((created(uid), aged(uid, 31, 32)), META, NOW)
        assert [(e.stream_id, e.version, e.type) for e in stored] == [
            (uid, 1, "UserCreated"),
            (uid, 2, "UserUpdated"),
            (uid, 3, "UserUpdated"),
        ]
        assert all(e.metadata.command_id == "contract" for e in stored)
        async with store.session() as session:
            state = await session.load("user", uid)
            assert (session.version_of(uid), session.stream_type_of(uid)) == (3, "user")
        assert state == User(uid, "Contract", f"{uid}@example.com", 32)
        assert await rows.outbox(uid) == [e.event_id for e in stored]

    async def test_a_long_stream_loads_its_latest_state(self, store: WriteStore) -> None:
        """(The MySQL store is made with a small snapshot_every: a snapshot is crossed.)"""
        uid = new_id()
        async with store.session() as session:
            await session.load("user", uid)
            await session.append((created(uid),), META, NOW)
        for age in range(40, 48):
            async with store.session() as session:
                await session.load("user", uid)
                await session.append((aged(uid, age),), META, NOW)
        async with store.session() as session:
            state = await session.load("user", uid)
            assert session.version_of(uid) == 9
        assert isinstance(state, User)
        assert state.age == 47

    async def test_a_stream_of_another_type_loads_as_nothing(self, store: WriteStore) -> None:
        uid = new_id()
        async with store.session() as session:
            await session.append((created(uid),), META, NOW)
        async with store.session() as session:
            assert await session.load("order", uid) is None
            assert (session.version_of(uid), session.stream_type_of(uid)) == (1, "user")

    async def test_positions_increase_in_append_order(self, store: WriteStore) -> None:
        positions: list[int] = []
        for _ in range(3):
            uid = new_id()
            async with store.session() as session:
                stored = await session.append((created(uid), aged(uid, 1)), META, NOW)
            positions += [e.position for e in stored if e.position is not None]
        assert len(positions) == 6
        assert positions == sorted(set(positions))

    async def test_a_stale_version_is_a_version_conflict_and_keeps_the_winner(
        self, store: WriteStore
    ) -> None:
        uid = new_id()
        async with store.session() as session:
            await session.append((created(uid),), META, NOW)

        async def attempt() -> None:
            async with store.session() as loser:
                await loser.load("user", uid)
                async with store.session() as winner:
                    await winner.load("user", uid)
                    await winner.append((aged(uid, 50),), META, NOW)
                await loser.append((aged(uid, 60),), META, NOW)

        with pytest.raises(VersionConflictError) as clash:
            await attempt()
        assert clash.value.stream_id == uid
        async with store.session() as session:
            state = await session.load("user", uid)
            assert session.version_of(uid) == 2
        assert isinstance(state, User)
        assert state.age == 50

    async def test_appending_to_a_stream_never_loaded_clashes_with_its_first_event(
        self, store: WriteStore
    ) -> None:
        uid = new_id()
        async with store.session() as session:
            await session.append((created(uid),), META, NOW)
        with pytest.raises(VersionConflictError):
            async with store.session() as session:
                await session.append((aged(uid, 1),), META, NOW)

    async def test_append_raw_checks_the_expected_version_and_numbers_the_event(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        uid = new_id()
        async with store.session() as session:
            await session.append((created(uid),), META, NOW)
        raw = EventEnvelope(
            event_id=new_id(),
            stream_type="user",
            stream_id=uid,
            version=0,
            type="UserUpdated",
            schema_version=1,
            data={"user_id": uid, "age": 70, "updated_at": NOW.isoformat()},
            metadata=META,
            occurred_at=NOW,
        )
        with pytest.raises(VersionConflictError) as clash:
            async with store.session() as session:
                await session.append_raw(raw, expected_version=0)
        assert (clash.value.expected, clash.value.actual) == (0, 1)
        async with store.session() as session:
            stored = await session.append_raw(raw, expected_version=1)
        assert stored.version == 2
        assert stored.position is not None
        async with store.session() as session:
            state = await session.load("user", uid)
        assert isinstance(state, User)
        assert state.age == 70
        assert len(await rows.outbox(uid)) == 2

    # --- claims --------------------------------------------------------------------

    async def test_a_taken_email_is_refused_to_another_owner(self, store: WriteStore) -> None:
        email, holder = f"{new_id()}@example.com", new_id()
        async with store.session() as session:
            await session.claim((email_claim(email, holder),), ())
        with pytest.raises(ClaimTakenError) as taken:
            async with store.session() as session:
                await session.claim((email_claim(email, new_id()),), ())
        assert taken.value.claim.value == email
        async with store.session() as session:  # its owner may claim it again
            await session.claim((email_claim(email, holder),), ())

    async def test_a_released_email_is_free_and_only_its_owner_releases_it(
        self, store: WriteStore
    ) -> None:
        email, holder, other = f"{new_id()}@example.com", new_id(), new_id()
        async with store.session() as session:
            await session.claim((email_claim(email, holder),), ())
        async with store.session() as session:  # not its owner: nothing released
            await session.claim((), (email_claim(email, other),))
        with pytest.raises(ClaimTakenError):
            async with store.session() as session:
                await session.claim((email_claim(email, other),), ())
        async with store.session() as session:  # released and taken in one call
            await session.claim((email_claim(email, other),), (email_claim(email, holder),))

    async def test_an_email_claimed_by_a_concurrent_session_first_is_refused(
        self, store: WriteStore
    ) -> None:
        email = f"{new_id()}@example.com"

        async def attempt() -> None:
            async with store.session() as loser:
                await loser.load("user", new_id())
                async with store.session() as winner:
                    await winner.claim((email_claim(email, new_id()),), ())
                await loser.claim((email_claim(email, new_id()),), ())

        with pytest.raises(ClaimTakenError):
            await attempt()

    # --- idempotency keys and the command log --------------------------------------

    async def test_an_idempotency_key_gives_back_its_first_answer(self, store: WriteStore) -> None:
        key, first = new_id(), answer(new_id(), fingerprint="abc")
        assert await store.find_answer(key, NOW) is None
        async with store.session() as session:
            await session.remember_answer(key, first, LATER)
        assert await store.find_answer(key, datetime.now(UTC)) == first
        with pytest.raises(DuplicateKeyError):
            async with store.session() as session:
                await session.remember_answer(key, answer(new_id(), "other"), LATER)
        assert await store.find_answer(key, datetime.now(UTC)) == first

    async def test_an_expired_key_is_forgotten_and_may_be_stored_again(
        self, store: WriteStore
    ) -> None:
        key, expires = new_id(), datetime.now(UTC) - timedelta(seconds=5)
        async with store.session() as session:
            await session.remember_answer(key, answer(new_id()), expires)
        assert await store.find_answer(key, expires - timedelta(seconds=1)) is not None
        assert await store.find_answer(key, datetime.now(UTC)) is None
        second = answer(new_id(), fingerprint=None)
        async with store.session() as session:
            await session.remember_answer(key, second, LATER)
        assert await store.find_answer(key, datetime.now(UTC)) == second

    async def test_a_command_id_logged_before_is_refused_and_its_transaction_writes_nothing(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        first = record()
        async with store.session() as session:
            await session.record_command(first)
        key = new_id()

        async def log_it_again() -> None:
            async with store.session() as session:
                await session.remember_answer(key, answer(first.command_id), LATER)
                await session.record_command(record(first.command_id))

        with pytest.raises(CommandIdTakenError):
            await log_it_again()
        assert await rows.logged([first.command_id]) == {first.command_id}
        assert await store.find_answer(key, datetime.now(UTC)) is None

    async def test_a_failed_transaction_writes_nothing(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        uid, key, logged = new_id(), new_id(), record()
        email = f"{uid}@example.com"

        async def attempt() -> None:
            async with store.session() as session:
                await session.claim((email_claim(email, uid),), ())
                await session.append((created(uid, email),), META, NOW)
                await session.record_command(logged)
                await session.remember_answer(key, answer(logged.command_id), LATER)
                raise RuntimeError("the request failed")

        with pytest.raises(RuntimeError):
            await attempt()
        await self.assert_nothing_of(store, rows, uid, email, key, logged.command_id)

    async def test_a_clash_refuses_what_the_session_wrote_before_it(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        holder, email = new_id(), f"{new_id()}@example.com"
        async with store.session() as session:
            await session.claim((email_claim(email, holder),), ())
        uid, key, logged = new_id(), new_id(), record()
        own = f"{uid}@example.com"

        async def attempt() -> None:
            async with store.session() as session:
                await session.claim((email_claim(own, uid),), ())
                await session.append((created(uid, own),), META, NOW)
                await session.record_command(logged)
                await session.remember_answer(key, answer(logged.command_id), LATER)
                await session.claim((email_claim(email, uid),), ())

        with pytest.raises(ClaimTakenError):
            await attempt()
        await self.assert_nothing_of(store, rows, uid, own, key, logged.command_id)

    @staticmethod
    async def assert_nothing_of(
        store: WriteStore, rows: StoredRows, uid: str, email: str, key: str, command_id: str
    ) -> None:
        async with store.session() as session:
            assert await session.load("user", uid) is None
            assert session.version_of(uid) == 0
            await session.claim((email_claim(email, new_id()),), ())  # still free
        assert await store.find_answer(key, datetime.now(UTC)) is None
        assert await rows.logged([command_id]) == set()
        assert await rows.outbox(uid) == []

    # --- batches (group commit) ----------------------------------------------------

    async def test_a_batch_reads_what_it_staged_and_flush_positions_it(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        uid, logged = new_id(), record()
        async with store.batch() as batch:
            assert await batch.load("user", uid) is None
            staged = await batch.append((created(uid),), META, NOW)
            state = await batch.load("user", uid)
            assert isinstance(state, User)
            assert batch.version_of(uid) == 1
            staged += await batch.append((aged(uid, 33),), META, NOW)
            assert [e.version for e in staged] == [1, 2]
            state = await batch.load("user", uid)
            assert isinstance(state, User)
            assert state.age == 33
            await batch.record_command(logged)
            stored = await batch.flush(NOW)
            assert set(stored) == {e.event_id for e in staged}
            positions = [p for e in staged if (p := stored[e.event_id].position) is not None]
            assert len(positions) == 2
            assert positions == sorted(positions)
            await batch.remember_answer("k-" + uid, answer(logged.command_id), LATER)
            assert await batch.flush(NOW) == {}
        async with store.session() as session:
            loaded = await session.load("user", uid)
            assert session.version_of(uid) == 2
        assert loaded == state
        assert await rows.outbox(uid) == [e.event_id for e in staged]
        assert await rows.logged([logged.command_id]) == {logged.command_id}
        assert await store.find_answer("k-" + uid, datetime.now(UTC)) is not None

    async def test_an_email_held_elsewhere_fails_the_whole_batch(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        email, holder = f"{new_id()}@example.com", new_id()
        async with store.session() as session:
            await session.claim((email_claim(email, holder),), ())
        uid, key, logged = new_id(), new_id(), record()
        own = f"{uid}@example.com"

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.claim((email_claim(own, uid),), ())
                await batch.append((created(uid, own),), META, NOW)
                await batch.record_command(logged)
                await batch.remember_answer(key, answer(logged.command_id), LATER)
                await batch.claim((email_claim(email, new_id()),), ())
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        await self.assert_nothing_of(store, rows, uid, own, key, logged.command_id)

    async def test_one_email_for_two_owners_in_a_batch_fails_it(self, store: WriteStore) -> None:
        email = f"{new_id()}@example.com"

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.claim((email_claim(email, new_id()),), ())
                await batch.claim((email_claim(email, new_id()),), ())
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        async with store.session() as session:  # nobody got it
            await session.claim((email_claim(email, new_id()),), ())

    async def test_a_stream_changed_since_the_batch_loaded_it_fails_the_batch(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        uid, other = new_id(), new_id()
        async with store.session() as session:
            await session.append((created(uid),), META, NOW)

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.load("user", uid)
                async with store.session() as winner:
                    await winner.load("user", uid)
                    await winner.append((aged(uid, 50),), META, NOW)
                await batch.append((created(other),), META, NOW)
                await batch.append((aged(uid, 60),), META, NOW)
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        assert await rows.outbox(other) == []
        async with store.session() as session:
            assert await session.load("user", other) is None
            assert session.version_of(uid) == 0
            await session.load("user", uid)
            assert session.version_of(uid) == 2

    async def test_one_key_twice_in_a_batch_fails_it(self, store: WriteStore) -> None:
        key = new_id()

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.remember_answer(key, answer(new_id()), LATER)
                await batch.remember_answer(key, answer(new_id()), LATER)
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        assert await store.find_answer(key, datetime.now(UTC)) is None

    async def test_a_key_stored_before_fails_the_batch_and_keeps_its_answer(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        key, first, logged = new_id(), answer(new_id()), record()
        async with store.session() as session:
            await session.remember_answer(key, first, LATER)

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.record_command(logged)
                await batch.flush(NOW)
                await batch.remember_answer(key, answer(logged.command_id), LATER)
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        assert await store.find_answer(key, datetime.now(UTC)) == first
        assert await rows.logged([logged.command_id]) == set()  # the first flush went too

    async def test_a_command_id_logged_twice_fails_the_batch(
        self, store: WriteStore, rows: StoredRows
    ) -> None:
        logged, uid = record(), new_id()

        async def attempt() -> None:
            async with store.batch() as batch:
                await batch.append((created(uid),), META, NOW)
                await batch.record_command(logged)
                await batch.record_command(logged)
                await batch.flush(NOW)

        with pytest.raises(BatchConflictError):
            await attempt()
        assert await rows.logged([logged.command_id]) == set()
        assert await rows.outbox(uid) == []
