"""The write store in memory, with the MySQL store's semantics (like `eventsourcing`'s
POPO recorders): for unit tests of the service layer, and trusted because it passes the
same contract tests as `SqlWriteStore` (tests/support/write_store_contract.py).

A transaction works on its own copy of the tables: what it writes is checked as the
database checks it (the (stream_id, version) guard, unique event and command ids,
unique claims, unexpired idempotency keys) when it writes it, and again at commit
against what other transactions committed meanwhile; the first clash refuses the whole
transaction and nothing of it is kept. A batch (group commit) stages its writes until
`flush`, and any clash of a batch is a `BatchConflictError`."""

import bisect
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from command_service.adapters.new_events import change_envelopes
from command_service.adapters.outbox_rows import outbox_row
from command_service.application.ports import (
    BatchConflictError,
    ClaimTakenError,
    CommandIdTakenError,
    CommandRecord,
    DuplicateKeyError,
    StoredAnswer,
    VersionConflictError,
)
from command_service.domain.decisions import StreamChange, UniqueClaim
from command_service.domain.model import Aggregate, evolve
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.upcasting import decode_event, upcast_envelope

CLASHES = (VersionConflictError, ClaimTakenError, DuplicateKeyError, CommandIdTakenError)


@dataclass
class Writes:
    """What one statement (or one batch flush) writes, applied in this order."""

    releases: list[UniqueClaim] = field(default_factory=list)
    claims: list[UniqueClaim] = field(default_factory=list)
    events: list[EventEnvelope] = field(default_factory=list)
    log: list[CommandRecord] = field(default_factory=list)
    answers: dict[str, tuple[StoredAnswer, datetime]] = field(default_factory=dict)


@dataclass
class Tables:
    """The store's rows. `events` is in position order; `outbox` holds one row per event."""

    streams: dict[str, list[EventEnvelope]] = field(default_factory=dict)
    events: list[EventEnvelope] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    claims: dict[tuple[str, str], str] = field(default_factory=dict)
    command_log: dict[str, CommandRecord] = field(default_factory=dict)
    answers: dict[str, tuple[StoredAnswer, datetime]] = field(default_factory=dict)

    def copy(self) -> "Tables":
        return Tables(
            {stream: list(events) for stream, events in self.streams.items()},
            list(self.events),
            list(self.outbox),
            dict(self.claims),
            dict(self.command_log),
            dict(self.answers),
        )

    def version(self, stream_id: str) -> int:
        stream = self.streams.get(stream_id)
        return stream[-1].version if stream else 0

    def apply(self, writes: Writes, topic: str, now: datetime) -> None:
        """Write all of `writes`, or raise the port error of its first clash and write
        nothing (a statement that fails leaves its transaction as it was)."""
        claims = dict(self.claims)
        for gone in writes.releases:
            if claims.get((gone.scope, gone.value)) == gone.owner:
                del claims[(gone.scope, gone.value)]
        for new in writes.claims:
            if claims.setdefault((new.scope, new.value), new.owner) != new.owner:
                raise ClaimTakenError(new)
        self._check_events(writes.events)
        logged = [r.command_id for r in writes.log]
        for command_id in logged:
            if command_id in self.command_log or logged.count(command_id) > 1:
                raise CommandIdTakenError(command_id)
        for key in writes.answers:
            held = self.answers.get(key)
            if held is not None and held[1] > now:
                raise DuplicateKeyError(key)
        self.claims = claims
        for event in writes.events:
            bisect.insort(self.streams.setdefault(event.stream_id, []), event, key=_version)
            bisect.insort(self.events, event, key=_position)
            self.outbox.append(outbox_row(event, topic, event.occurred_at))
        self.command_log |= {r.command_id: r for r in writes.log}
        self.answers |= writes.answers

    def _check_events(self, events: list[EventEnvelope]) -> None:
        """The (stream_id, version) guard and unique event ids, as the events table has."""
        versions = {(e.stream_id, e.version) for e in self.events}
        ids = {e.event_id for e in self.events}
        for event in events:
            if (event.stream_id, event.version) in versions or event.event_id in ids:
                actual = self.version(event.stream_id)
                raise VersionConflictError(event.stream_id, event.version - 1, actual)
            versions.add((event.stream_id, event.version))
            ids.add(event.event_id)


def _version(event: EventEnvelope) -> int:
    return event.version


def _position(event: EventEnvelope) -> int:
    return event.position or 0


class MemoryWriteStore:
    """Fulfils `WriteStore` (sessions fulfil `WriteSession`, batches `BatchSession`)."""

    def __init__(self, topic: str = "cqrs-events") -> None:
        self.tables = Tables()
        self._topic = topic
        self._positions = itertools.count(1)  # shared: concurrent writers never share one
        self._commits = 0  # a transaction that saw every commit so far commits its copy
        self.held: set[tuple[str, str]] = set()  # values held for another shard's claim

    @asynccontextmanager
    async def session(self) -> AsyncIterator["MemorySession"]:
        session = MemorySession(self, self.tables.copy(), self._commits)
        yield session
        self._commit(session)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator["MemoryBatchSession"]:
        batch = MemoryBatchSession(self, self.tables.copy(), self._commits)
        yield batch
        try:
            self._commit(batch)
        except CLASHES as clash:
            raise BatchConflictError(str(clash)) from clash

    def _commit(self, session: "MemorySession") -> None:
        if not session.written:  # it only read
            return
        if session.base == self._commits:  # nothing committed since it began
            self.tables = session.tables
        else:  # others committed meanwhile: what it wrote must still hold
            tables = self.tables.copy()
            for writes in session.written:
                tables.apply(writes, self._topic, datetime.now(UTC))
            self.tables = tables
        self._commits += 1

    def next_position(self) -> int:
        return next(self._positions)

    @property
    def topic(self) -> str:
        return self._topic

    @asynccontextmanager
    async def hold(self, claims: Sequence[UniqueClaim]) -> AsyncIterator[None]:
        """Hold values for another shard: taken here -> ClaimTakenError; held by another
        hold -> VersionConflictError (the SQL store would wait, then maybe time out)."""
        values = {(c.scope, c.value) for c in claims}
        for claim in claims:
            if (claim.scope, claim.value) in self.tables.claims:
                raise ClaimTakenError(claim)
        if values & self.held:
            raise VersionConflictError("(a held claim)", -1)
        self.held |= values
        try:
            yield
        finally:
            self.held -= values

    async def find_answer(self, key: str, now: datetime) -> StoredAnswer | None:
        held = self.tables.answers.get(key)
        return held[0] if held is not None and held[1] > now else None


class MemorySession:
    """One transaction: writes go to its copy of the tables at once, checked as they go."""

    def __init__(self, store: MemoryWriteStore, tables: Tables, base: int) -> None:
        self.store, self.tables, self.base = store, tables, base
        self.written: list[Writes] = []  # re-checked at commit if others committed meanwhile
        self._versions: dict[str, int] = {}
        self._kinds: dict[str, str | None] = {}

    def _events_of(self, stream_id: str) -> list[EventEnvelope]:
        return self.tables.streams.get(stream_id, [])

    async def load(self, stream_type: str, stream_id: str) -> Aggregate | None:
        state: Aggregate | None = None
        version, kind = 0, None
        for stored in self._events_of(stream_id):
            envelope = upcast_envelope(stored)
            version, kind = envelope.version, envelope.stream_type
            event = decode_event(envelope)
            if event is not None and kind == stream_type:
                state = evolve(state, event)
        self._versions[stream_id] = version
        self._kinds[stream_id] = kind if version else None
        return state if kind == stream_type else None

    def version_of(self, stream_id: str) -> int:
        return self._versions.get(stream_id, 0)

    def stream_type_of(self, stream_id: str) -> str | None:
        return self._kinds.get(stream_id)

    def _write(self, writes: Writes) -> None:
        self.tables.apply(writes, self.store.topic, datetime.now(UTC))
        self.written.append(writes)

    def _envelopes(
        self,
        changes: tuple[StreamChange, ...],
        metadata: EventMetadata,
        now: datetime,
        positioned: bool = True,
    ) -> list[EventEnvelope]:
        """Each change's events, numbered after the version `load` saw (positioned now,
        or by the batch's flush)."""
        built: list[EventEnvelope] = []
        for change in changes:
            start = self.version_of(change.stream_id)
            for envelope in change_envelopes(change, start, metadata, now):
                position = self.store.next_position() if positioned else None
                built.append(envelope.model_copy(update={"position": position}))
            self._versions[change.stream_id] = start + len(change.events)
        return built

    async def append(
        self, changes: tuple[StreamChange, ...], metadata: EventMetadata, now: datetime
    ) -> list[EventEnvelope]:
        stored = self._envelopes(changes, metadata, now)
        for envelope in stored:  # one insert each, as the MySQL session does
            self._write(Writes(events=[envelope]))
        return stored

    async def append_raw(
        self, envelope: EventEnvelope, expected_version: int | None
    ) -> EventEnvelope:
        current = self.tables.version(envelope.stream_id)
        if expected_version is not None and expected_version != current:
            raise VersionConflictError(envelope.stream_id, expected_version, current)
        update = {"version": current + 1, "position": self.store.next_position()}
        stored = envelope.model_copy(update=update)
        self._write(Writes(events=[stored]))
        self._versions[stored.stream_id] = stored.version
        return stored

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None:
        if any((c.scope, c.value) in self.store.held for c in claims):
            raise VersionConflictError("(a held claim)", -1)  # the SQL store would wait
        self._write(Writes(releases=list(releases), claims=list(claims)))

    async def record_command(self, record: CommandRecord) -> None:
        self._write(Writes(log=[record]))

    async def remember_answer(self, key: str, answer: StoredAnswer, expires_at: datetime) -> None:
        self._write(Writes(answers={key: (answer, expires_at)}))


class MemoryBatchSession(MemorySession):
    """A batch's transaction: writes are staged (and seen by later loads) until `flush`."""

    def __init__(self, store: MemoryWriteStore, tables: Tables, base: int) -> None:
        super().__init__(store, tables, base)
        self._staged = Writes()

    def _events_of(self, stream_id: str) -> list[EventEnvelope]:
        staged = [e for e in self._staged.events if e.stream_id == stream_id]
        return super()._events_of(stream_id) + staged

    async def append(
        self, changes: tuple[StreamChange, ...], metadata: EventMetadata, now: datetime
    ) -> list[EventEnvelope]:
        staged = self._envelopes(changes, metadata, now, positioned=False)
        self._staged.events += staged
        return staged

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None:
        self._staged.releases += releases
        self._staged.claims += claims

    async def record_command(self, record: CommandRecord) -> None:
        self._staged.log.append(record)

    async def remember_answer(self, key: str, answer: StoredAnswer, expires_at: datetime) -> None:
        if key in self._staged.answers:
            raise BatchConflictError(f"idempotency key {key!r} twice in one batch")
        self._staged.answers[key] = (answer, expires_at)

    async def flush(self, now: datetime) -> dict[str, EventEnvelope]:
        staged, self._staged = self._staged, Writes()
        staged.events = [
            e.model_copy(update={"position": self.store.next_position()}) for e in staged.events
        ]
        owners: dict[tuple[str, str], str] = {}
        for claim in staged.claims:
            if owners.setdefault((claim.scope, claim.value), claim.owner) != claim.owner:
                raise BatchConflictError(f"{claim.value!r} claimed twice in one batch")
        try:
            self.tables.apply(staged, self.store.topic, now)
        except CLASHES as clash:
            raise BatchConflictError(str(clash)) from clash
        self.written.append(staged)
        return {e.event_id: e for e in staged.events}
