"""One write transaction on the MySQL event store: loads streams (snapshot + tail,
revealed), appends events with their outbox rows (personal fields sealed with the
subject's data key; a `UserForgotten` destroys the key in the same transaction), claims
unique values (stored as keyed hashes), logs the command and remembers its answer for
the idempotency key (personal data sealed or redacted in both)."""

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from command_service.adapters.new_events import change_envelopes, sealed_envelope, subject_to_seal
from command_service.adapters.outbox_rows import outbox_row
from command_service.adapters.private_records import (
    answer_subjects,
    protected_record,
    request_subject,
    sealed_answer,
)
from command_service.adapters.snapshots import dump_state, load_state, state_subject
from command_service.adapters.write_keys import SessionKeys, WriteKeys
from command_service.application.ports import (
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
from cqrs_contracts.events import UserForgotten
from cqrs_contracts.upcasting import decode_event
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import envelope_from_row, event_row
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.privacy.sealing import reveal_fields, sealed_key_ids
from cqrs_event_store.timestamps import naive_utc

MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT = 1213, 1205

_upsert = mysql_insert(t.snapshots)
UPSERT_SNAPSHOT = _upsert.on_duplicate_key_update(
    version=_upsert.inserted.version,
    state=_upsert.inserted.state,
    taken_at=_upsert.inserted.taken_at,
)


def mysql_code(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class SqlWriteSession:
    """One transaction. Remembers the version and state of every stream it loaded."""

    def __init__(
        self, conn: AsyncConnection, topic: str, snapshot_every: int, keys: WriteKeys
    ) -> None:
        self._conn = conn
        self._topic = topic
        self._snapshot_every = snapshot_every
        self._keys: SessionKeys = keys.session(conn)
        self._digest = keys.hasher.digest
        self._versions: dict[str, int] = {}
        self._states: dict[str, Aggregate | None] = {}
        self._kinds: dict[str, str | None] = {}

    async def load(self, stream_type: str, stream_id: str) -> Aggregate | None:
        snap = (
            await self._conn.execute(
                select(t.snapshots).where(t.snapshots.c.stream_id == stream_id)
            )
        ).first()
        snapshot = snap.state if snap is not None and snap.stream_type == stream_type else None
        after = snap.version if snap is not None and snapshot is not None else 0
        rows = await self._conn.execute(
            select(t.events)
            .where(t.events.c.stream_id == stream_id, t.events.c.version > after)
            .order_by(t.events.c.version)
        )
        envelopes = [envelope_from_row(row) for row in rows]
        sealed = set().union(*(sealed_key_ids(e.data) for e in envelopes))
        sealed |= sealed_key_ids(snapshot) if snapshot is not None else set()
        keys = await self._keys.keys(sealed) if sealed else {}  # one lookup per stream
        state: Aggregate | None = None
        if snapshot is not None:
            state = load_state(stream_type, reveal_fields(snapshot, keys))
        version, kind = after, stream_type if snap is not None else None
        for stored in envelopes:
            envelope = stored.model_copy(update={"data": reveal_fields(stored.data, keys)})
            version, kind = envelope.version, envelope.stream_type
            event = decode_event(envelope)
            if event is not None and kind == stream_type:
                state = evolve(state, event)
        self._versions[stream_id] = version
        self._kinds[stream_id] = kind if version else None
        self._states[stream_id] = state if kind == stream_type else None
        return self._states[stream_id]

    def version_of(self, stream_id: str) -> int:
        return self._versions.get(stream_id, 0)

    def stream_type_of(self, stream_id: str) -> str | None:
        return self._kinds.get(stream_id)

    async def append(
        self, changes: tuple[StreamChange, ...], metadata: EventMetadata, now: datetime
    ) -> list[EventEnvelope]:
        stored: list[EventEnvelope] = []
        for change in changes:
            start = self.version_of(change.stream_id)
            for envelope in change_envelopes(change, start, metadata, now):
                key = await self._key_of(envelope, now, fresh=start == 0)
                sealed = sealed_envelope(envelope, key)
                position = await self._insert_event(sealed, expected=envelope.version - 1)
                stored.append(envelope.model_copy(update={"position": position}))
            if await self._forget(change, now):
                continue
            snapshot = await self._snapshot_row(change, start, now)
            if snapshot is not None:
                await self._conn.execute(UPSERT_SNAPSHOT, snapshot)
        return stored

    async def _key(self, subject: str, now: datetime, *, fresh: bool = False) -> DataKey:
        """`subject`'s data key (created in this transaction if they have none)."""
        return await self._keys.for_subject(subject, now, fresh=fresh)

    async def _key_of(
        self, envelope: EventEnvelope, now: datetime, *, fresh: bool = False
    ) -> DataKey | None:
        """The key that seals `envelope` (None: nothing to seal). `fresh`: its stream had
        no event before this change, so the subject, when it is the stream, has no key."""
        subject = subject_to_seal(envelope.type, envelope.data)
        if not subject:
            return None
        return await self._key(subject, now, fresh=fresh and subject == envelope.stream_id)

    async def _forget(self, change: StreamChange, now: datetime) -> bool:
        """Destroy the data key of each user this change forgets, and their snapshot, in
        this transaction. True when it forgot someone."""
        forgotten = [e.user_id for e in change.events if isinstance(e, UserForgotten)]
        for subject in forgotten:
            await self._keys.forget(subject, now)
            await self._conn.execute(
                delete(t.snapshots).where(t.snapshots.c.stream_id == change.stream_id)
            )
        return bool(forgotten)

    async def append_raw(
        self, envelope: EventEnvelope, expected_version: int | None
    ) -> EventEnvelope:
        current = await self._current_version(envelope.stream_id)
        if expected_version is not None and expected_version != current:
            raise VersionConflictError(envelope.stream_id, expected_version, current)
        envelope = envelope.model_copy(update={"version": current + 1})
        sealed = sealed_envelope(envelope, await self._key_of(envelope, envelope.occurred_at))
        position = await self._insert_event(sealed, expected=current)
        return envelope.model_copy(update={"position": position})

    async def _current_version(self, stream_id: str) -> int:
        row = (
            await self._conn.execute(
                select(t.events.c.version)
                .where(t.events.c.stream_id == stream_id)
                .order_by(t.events.c.version.desc())
                .limit(1)
            )
        ).first()
        return int(row.version) if row else 0

    async def _insert_event(self, envelope: EventEnvelope, expected: int) -> int | None:
        """Insert an event as stored (sealed) and its outbox row; its position."""
        try:
            result = await self._conn.execute(insert(t.events).values(**event_row(envelope)))
        except IntegrityError as error:
            raise VersionConflictError(envelope.stream_id, expected) from error
        position = result.inserted_primary_key[0] if result.inserted_primary_key else None
        stored = envelope.model_copy(update={"position": position})
        await self._conn.execute(
            insert(t.outbox).values(
                **outbox_row(stored, self._topic, naive_utc(stored.occurred_at))
            )
        )
        self._versions[stored.stream_id] = stored.version
        return position

    async def _snapshot_row(
        self, change: StreamChange, start: int, now: datetime
    ) -> dict[str, Any] | None:
        """The snapshot to store when this change crosses a multiple of `snapshot_every`
        (of a stream whose state this session knows), else None."""
        every, end = self._snapshot_every, start + len(change.events)
        if every <= 0 or end // every == start // every or change.stream_id not in self._states:
            return None
        state = self._states[change.stream_id]
        for event in change.events:
            state = evolve(state, event)
        if state is None:
            return None
        subject = state_subject(state)
        return {
            "stream_id": change.stream_id,
            "stream_type": change.stream_type,
            "version": end,
            "state": dump_state(state, await self._key(subject, now) if subject else None),
            "taken_at": naive_utc(now),
        }

    def _hashed(self, claims: tuple[UniqueClaim, ...]) -> list[UniqueClaim]:
        """The claims as stored: their values' keyed hashes, never the values."""
        return [UniqueClaim(c.scope, self._digest(c.value), c.owner) for c in claims]

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None:
        for gone in self._hashed(releases):
            await self._conn.execute(
                delete(t.unique_claims).where(
                    t.unique_claims.c.scope == gone.scope,
                    t.unique_claims.c.value == gone.value,
                    t.unique_claims.c.owner == gone.owner,
                )
            )
        for asked, new in zip(claims, self._hashed(claims), strict=True):
            # INSERT IGNORE: no savepoint round trips; a clash shows as zero rows written
            result = await self._conn.execute(
                insert(t.unique_claims).prefix_with("IGNORE").values(**asdict(new))
            )
            if result.rowcount == 0:
                owner = await self._conn.scalar(
                    select(t.unique_claims.c.owner)
                    .where(
                        t.unique_claims.c.scope == new.scope, t.unique_claims.c.value == new.value
                    )
                    .with_for_update(read=True)  # the latest row, not this txn's snapshot
                )
                if owner != new.owner:
                    raise ClaimTakenError(asked)

    async def _protected(self, record: CommandRecord) -> CommandRecord:
        subject = request_subject(record)
        return protected_record(
            record, await self._key(subject, record.received_at) if subject else None
        )

    async def _sealed_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        return sealed_answer(body, {s: await self._key(s, now) for s in answer_subjects(body)})

    async def record_command(self, record: CommandRecord) -> None:
        record = await self._protected(record)
        values = asdict(record) | {"received_at": naive_utc(record.received_at)}
        try:
            await self._conn.execute(insert(t.command_log).values(**values))
        except IntegrityError as taken:  # the command log's key is the command id
            raise CommandIdTakenError(record.command_id) from taken

    async def remember_answer(self, key: str, answer: StoredAnswer, expires_at: datetime) -> None:
        await self._conn.execute(
            delete(t.idempotency_keys).where(
                t.idempotency_keys.c.idempotency_key == key,
                t.idempotency_keys.c.expires_at <= naive_utc(datetime.now(expires_at.tzinfo)),
            )
        )
        result = await self._conn.execute(
            insert(t.idempotency_keys)
            .prefix_with("IGNORE")
            .values(
                idempotency_key=key,
                command_id=answer.command_id,
                http_status=answer.http_status,
                response=json.dumps(await self._sealed_answer(answer.body)),
                expires_at=naive_utc(expires_at),
                fingerprint=answer.fingerprint,
            )
        )
        if result.rowcount == 0:
            raise DuplicateKeyError(key)
