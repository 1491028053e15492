"""One write transaction on the MySQL event store: loads streams (snapshot + tail),
appends events with their outbox rows, claims unique values, logs the command and
remembers its answer for the idempotency key."""

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from command_service.adapters.new_events import change_envelopes
from command_service.adapters.outbox_rows import outbox_row
from command_service.adapters.snapshots import dump_state, load_state
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
from cqrs_contracts.upcasting import decode_event
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import envelope_from_row, event_row
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

    def __init__(self, conn: AsyncConnection, topic: str, snapshot_every: int) -> None:
        self._conn = conn
        self._topic = topic
        self._snapshot_every = snapshot_every
        self._versions: dict[str, int] = {}
        self._states: dict[str, Aggregate | None] = {}
        self._kinds: dict[str, str | None] = {}

    async def load(self, stream_type: str, stream_id: str) -> Aggregate | None:
        state: Aggregate | None = None
        after = 0
        snap = (
            await self._conn.execute(
                select(t.snapshots).where(t.snapshots.c.stream_id == stream_id)
            )
        ).first()
        if snap is not None and snap.stream_type == stream_type:
            state, after = load_state(stream_type, snap.state), snap.version
        rows = await self._conn.execute(
            select(t.events)
            .where(t.events.c.stream_id == stream_id, t.events.c.version > after)
            .order_by(t.events.c.version)
        )
        version, kind = after, stream_type if snap is not None else None
        for row in rows:
            envelope = envelope_from_row(row)
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
                stored.append(await self._insert_event(envelope, expected=envelope.version - 1))
            snapshot = self._snapshot_row(change, start, now)
            if snapshot is not None:
                await self._conn.execute(UPSERT_SNAPSHOT, snapshot)
        return stored

    async def append_raw(
        self, envelope: EventEnvelope, expected_version: int | None
    ) -> EventEnvelope:
        current = await self._current_version(envelope.stream_id)
        if expected_version is not None and expected_version != current:
            raise VersionConflictError(envelope.stream_id, expected_version, current)
        envelope = envelope.model_copy(update={"version": current + 1})
        return await self._insert_event(envelope, expected=current)

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

    async def _insert_event(self, envelope: EventEnvelope, expected: int) -> EventEnvelope:
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
        return stored

    def _snapshot_row(
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
        return {
            "stream_id": change.stream_id,
            "stream_type": change.stream_type,
            "version": end,
            "state": dump_state(state),
            "taken_at": naive_utc(now),
        }

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None:
        for gone in releases:
            await self._conn.execute(
                delete(t.unique_claims).where(
                    t.unique_claims.c.scope == gone.scope,
                    t.unique_claims.c.value == gone.value,
                    t.unique_claims.c.owner == gone.owner,
                )
            )
        for new in claims:
            # INSERT IGNORE: no savepoint round trips; a clash shows as zero rows written
            result = await self._conn.execute(
                insert(t.unique_claims).prefix_with("IGNORE").values(**asdict(new))
            )
            if result.rowcount == 0:
                owner = await self._conn.scalar(
                    select(t.unique_claims.c.owner).where(
                        t.unique_claims.c.scope == new.scope, t.unique_claims.c.value == new.value
                    )
                )
                if owner != new.owner:
                    raise ClaimTakenError(new)

    async def record_command(self, record: CommandRecord) -> None:
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
                response=json.dumps(answer.body),
                expires_at=naive_utc(expires_at),
                fingerprint=answer.fingerprint,
            )
        )
        if result.rowcount == 0:
            raise DuplicateKeyError(key)
