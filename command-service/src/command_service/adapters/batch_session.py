"""Group commit: one transaction shared by the commands of a batch.

Reads go to the database, or to what an earlier command of the same batch staged, so
each command is decided on the state its predecessors leave. Writes are staged and sent
by `flush` as one multi-row statement per table. Anything that clashes (a stream
version, an email claim, an idempotency key, a command id) fails the whole batch with
`BatchConflictError`: the transaction rolls back and the caller runs each command on its
own, where a clash is retried or refused for that command alone. So does a data key
another transaction created first, or one destroyed (a forgotten user).

New data keys are staged too (a later command of the batch seals with the key an
earlier one made) and inserted first by `flush`; a key destroyed is destroyed at once."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError

from command_service.adapters.bulk_sql import BulkInsert
from command_service.adapters.new_events import change_envelopes, sealed_envelope
from command_service.adapters.outbox_rows import outbox_row
from command_service.adapters.write_keys import WriteKeys
from command_service.adapters.write_session import UPSERT_SNAPSHOT, SqlWriteSession, mysql_code
from command_service.application.ports import (
    BatchConflictError,
    CommandRecord,
    ForgottenSubjectError,
    StoredAnswer,
    VersionConflictError,
)
from command_service.domain.decisions import StreamChange, UniqueClaim
from command_service.domain.model import Aggregate, evolve
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.timestamps import naive_utc

MYSQL_UNKNOWN_VARIABLE = 1193
INSERT_EVENTS = BulkInsert(t.events)
INSERT_OUTBOX = BulkInsert(t.outbox)
INSERT_LOG = BulkInsert(t.command_log)
CLAIM = BulkInsert(t.unique_claims, ignore=True)
REMEMBER = BulkInsert(t.idempotency_keys, ignore=True)
INSERT_KEYS = BulkInsert(t.data_keys)


class SqlBatchSession(SqlWriteSession):
    """A `WriteSession` whose writes wait for `flush`. `position_step` is the
    auto-increment step when a multi-row INSERT is known to get consecutive positions
    (InnoDB's autoinc lock mode 0 or 1), else None: positions are then read back."""

    def __init__(
        self,
        conn: Any,
        topic: str,
        snapshot_every: int,
        position_step: int | None,
        keys: WriteKeys,
    ):
        super().__init__(conn, topic, snapshot_every, keys)
        self._keys = keys.session(conn, staged=True)  # new keys go in with the flush
        self._position_step = position_step
        self._events: list[EventEnvelope] = []  # as stored: sealed
        self._plain: dict[str, EventEnvelope] = {}  # the same events by id, as decided
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._claims: list[UniqueClaim] = []
        self._releases: list[UniqueClaim] = []
        self._log: list[CommandRecord] = []
        self._answers: dict[str, dict[str, Any]] = {}
        self._known: dict[str, str] = {}  # stream -> the type its state was folded as

    async def load(self, stream_type: str, stream_id: str) -> Aggregate | None:
        if self._known.get(stream_id) == stream_type:
            return self._states[stream_id]  # read (or changed) earlier in this batch
        state = await super().load(stream_type, stream_id)
        if self._kinds.get(stream_id) in (stream_type, None):
            self._known[stream_id] = stream_type
        return state

    async def append(
        self, changes: tuple[StreamChange, ...], metadata: EventMetadata, now: datetime
    ) -> list[EventEnvelope]:
        staged: list[EventEnvelope] = []
        for change in changes:
            start = self.version_of(change.stream_id)
            envelopes = change_envelopes(change, start, metadata, now)
            for envelope in envelopes:
                key = await self._key_of(envelope, now, fresh=start == 0)
                self._events.append(sealed_envelope(envelope, key))
                self._plain[envelope.event_id] = envelope
            if await self._forget(change, now):
                self._snapshots.pop(change.stream_id, None)
            elif (snapshot := await self._snapshot_row(change, start, now)) is not None:
                self._snapshots[change.stream_id] = snapshot
            self._advance(change, start)
            staged += envelopes
        return staged

    async def _key(self, subject: str, now: datetime, *, fresh: bool = False) -> DataKey:
        """As a single command's, but a key another transaction created first, or one
        destroyed, fails the batch: its commands then run (and are refused) alone."""
        try:
            return await super()._key(subject, now, fresh=fresh)
        except (VersionConflictError, ForgottenSubjectError) as clash:
            raise BatchConflictError(f"the data key of {subject}: {clash}") from clash

    def _advance(self, change: StreamChange, start: int) -> None:
        """What later commands of the batch see of this stream."""
        stream = change.stream_id
        if start == 0 or self._known.get(stream) == change.stream_type:  # new, or known
            state = self._states.get(stream) if start else None
            for event in change.events:
                state = evolve(state, event)
            self._states[stream], self._kinds[stream] = state, change.stream_type
            self._known[stream] = change.stream_type
        else:  # appended to unread: a later load in this batch reads it again
            self._known.pop(stream, None)
        self._versions[stream] = start + len(change.events)

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None:
        self._releases += self._hashed(releases)
        self._claims += self._hashed(claims)

    async def record_command(self, record: CommandRecord) -> None:
        self._log.append(await self._protected(record))

    async def remember_answer(self, key: str, answer: StoredAnswer, expires_at: datetime) -> None:
        if key in self._answers:
            raise BatchConflictError(f"idempotency key {key!r} twice in one batch")
        self._answers[key] = {
            "idempotency_key": key,
            "command_id": answer.command_id,
            "http_status": answer.http_status,
            "response": json.dumps(await self._sealed_answer(answer.body)),
            "expires_at": naive_utc(expires_at),
            "fingerprint": answer.fingerprint,
        }

    async def flush(self, now: datetime) -> dict[str, EventEnvelope]:
        """Send what is staged, one statement per table; the stored events by id (with
        their positions). Raises BatchConflictError on any clash."""
        try:
            await INSERT_KEYS.execute(self._conn, self._keys.staged_rows)
            await self._flush_claims()
            stored = await self._flush_events()
            for snapshot in self._snapshots.values():
                await self._conn.execute(UPSERT_SNAPSHOT, snapshot)
            await INSERT_LOG.execute(self._conn, [_log_row(r) for r in self._log])
            await self._flush_answers(now)
        except IntegrityError as clash:
            raise BatchConflictError(str(clash.orig)) from clash
        finally:
            self._events, self._plain, self._snapshots, self._log = [], {}, {}, []
            self._claims, self._releases, self._answers = [], [], {}
            self._keys.staged_rows.clear()
        return stored

    async def _flush_claims(self) -> None:
        for gone in self._releases:
            await self._conn.execute(
                delete(t.unique_claims).where(
                    t.unique_claims.c.scope == gone.scope,
                    t.unique_claims.c.value == gone.value,
                    t.unique_claims.c.owner == gone.owner,
                )
            )
        owners: dict[tuple[str, str], str] = {}
        for claim in self._claims:
            if owners.setdefault((claim.scope, claim.value), claim.owner) != claim.owner:
                raise BatchConflictError(f"{claim.value!r} claimed twice in one batch")
        rows = [{"scope": c.scope, "value": c.value, "owner": c.owner} for c in self._claims]
        result = await CLAIM.execute(self._conn, rows)
        if result is None or result.rowcount == len(rows):
            return
        held = await self._conn.execute(
            select(t.unique_claims)
            .where(tuple_(t.unique_claims.c.scope, t.unique_claims.c.value).in_(list(owners)))
            .with_for_update(read=True)  # the latest rows, not this transaction's snapshot
        )
        if any(owners[(row.scope, row.value)] != row.owner for row in held):
            raise BatchConflictError("a claimed value belongs to another aggregate")

    async def _flush_events(self) -> dict[str, EventEnvelope]:
        if not self._events:
            return {}
        result = await INSERT_EVENTS.execute(self._conn, [event_row(e) for e in self._events])
        positions = await self._positions(result.lastrowid)
        rows = [
            outbox_row(
                e.model_copy(update={"position": positions[e.event_id]}),
                self._topic,
                naive_utc(e.occurred_at),
            )
            for e in self._events
        ]
        await INSERT_OUTBOX.execute(self._conn, rows)
        return {i: e.model_copy(update={"position": positions[i]}) for i, e in self._plain.items()}

    async def _positions(self, first: int | None) -> dict[str, int]:
        if self._position_step is not None and first:
            step = self._position_step
            return {e.event_id: first + i * step for i, e in enumerate(self._events)}
        ids = [e.event_id for e in self._events]
        rows = await self._conn.execute(
            select(t.events.c.event_id, t.events.c.position).where(t.events.c.event_id.in_(ids))
        )
        return {row.event_id: row.position for row in rows}

    async def _flush_answers(self, now: datetime) -> None:
        if not self._answers:
            return
        await self._conn.execute(
            delete(t.idempotency_keys).where(
                t.idempotency_keys.c.idempotency_key.in_(list(self._answers)),
                t.idempotency_keys.c.expires_at <= naive_utc(now),
            )
        )
        result = await REMEMBER.execute(self._conn, list(self._answers.values()))
        if result.rowcount != len(self._answers):
            raise BatchConflictError("an idempotency key was stored by a concurrent request")


def _log_row(record: CommandRecord) -> dict[str, Any]:
    return record.__dict__ | {"received_at": naive_utc(record.received_at)}


async def position_step(conn: Any) -> int | None:
    """The auto-increment step when a multi-row INSERT gets consecutive positions (InnoDB's
    autoinc lock mode 0 or 1), else None. A server without these variables answers None;
    any other error (the server is gone) is raised, never taken for an answer."""
    try:
        row = (
            await conn.exec_driver_sql(
                "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment"
            )
        ).first()
    except DBAPIError as error:
        if mysql_code(error) == MYSQL_UNKNOWN_VARIABLE:
            return None
        raise
    mode, step = row
    return int(step) if int(mode) in (0, 1) else None
