"""The MySQL write store: opens the transactions of single commands and of batches
(group commit), finds and records idempotent answers (revealing the events they carry)."""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from opentelemetry.trace import SpanKind
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command_service.adapters.batch_session import SqlBatchSession, position_step
from command_service.adapters.private_records import revealed_answer
from command_service.adapters.write_keys import WriteKeys
from command_service.adapters.write_session import (
    MYSQL_DEADLOCK,
    MYSQL_LOCK_WAIT_TIMEOUT,
    SqlWriteSession,
    mysql_code,
)
from command_service.application.ports import (
    BatchConflictError,
    ClaimTakenError,
    StoredAnswer,
    VersionConflictError,
)
from command_service.domain.decisions import UniqueClaim
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store import tables as t
from cqrs_event_store.timestamps import naive_utc
from cqrs_http.telemetry import span_under

DB_ATTRIBUTES = {"db.system": "mysql", "db.operation": "transaction"}


class SqlWriteStore:
    """Opens write transactions; retryable MySQL clashes surface as VersionConflictError."""

    def __init__(
        self,
        engine: AsyncEngine,
        topic: str,
        snapshot_every: int,
        keys: WriteKeys | None = None,
    ) -> None:
        """`keys` default to the configuration's defaults (the development master key)."""
        self._engine = engine
        self._topic = topic
        self._snapshot_every = snapshot_every
        self.keys = keys or WriteKeys.from_settings(PrivacySettings())
        self._position_step: int | bool | None = False  # False: not asked yet

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SqlWriteSession]:
        """One transaction (a span of the current trace: the event store append)."""
        try:
            with span_under("event_store.append", None, SpanKind.CLIENT, DB_ATTRIBUTES):
                async with self._engine.begin() as conn:
                    yield SqlWriteSession(conn, self._topic, self._snapshot_every, self.keys)
        except DBAPIError as error:
            if mysql_code(error) in (MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT):
                raise VersionConflictError("(deadlock)", -1) from error
            raise

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[SqlBatchSession]:
        """One transaction for a batch of commands (group commit)."""
        try:
            with span_under("event_store.append", None, SpanKind.CLIENT, DB_ATTRIBUTES):
                async with self._engine.begin() as conn:
                    if self._position_step is False:
                        self._position_step = await position_step(conn)
                    step = self._position_step
                    yield SqlBatchSession(
                        conn, self._topic, self._snapshot_every, step or None, self.keys
                    )
        except DBAPIError as error:
            if mysql_code(error) in (MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT):
                raise BatchConflictError("deadlock") from error
            raise

    @asynccontextmanager
    async def hold(self, claims: Sequence[UniqueClaim]) -> AsyncIterator[None]:
        """Insert the claims' rows (as stored: hashed) in a transaction rolled back when
        the block ends: in sorted order, so two holds of one batch's values never cross.
        Two round trips (the INSERT and the ROLLBACK); waiting for another transaction's
        row of a value is bounded by the server's innodb_lock_wait_timeout, and in
        practice by that transaction (holds are taken in shard order: no cycles)."""
        digest = self.keys.hasher.digest
        owners = {(c.scope, digest(c.value)): c.owner for c in claims}
        rows = [{"scope": s, "value": v, "owner": owners[(s, v)]} for s, v in sorted(owners)]
        with span_under("event_store.hold_claims", None, SpanKind.CLIENT, DB_ATTRIBUTES):
            async with self._engine.connect() as conn:
                held = await conn.begin()
                try:
                    await _insert_held(conn, rows, claims)
                    yield
                finally:
                    await held.rollback()

    async def find_answer(self, key: str, now: datetime) -> StoredAnswer | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t.idempotency_keys).where(
                        t.idempotency_keys.c.idempotency_key == key,
                        t.idempotency_keys.c.expires_at > naive_utc(now),
                    )
                )
            ).first()
            if row is None:
                return None
            body = await revealed_answer(json.loads(row.response), self.keys.session(conn).reveal)
        return StoredAnswer(row.command_id, row.http_status, body, row.fingerprint)


async def _insert_held(
    conn: AsyncConnection, rows: list[dict[str, str]], claims: Sequence[UniqueClaim]
) -> None:
    try:
        await conn.execute(insert(t.unique_claims).values(rows))
    except IntegrityError as taken:  # committed here: another shard's user holds it
        raise ClaimTakenError(claims[0]) from taken
    except DBAPIError as error:
        if mysql_code(error) in (MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT):
            raise VersionConflictError("(a held claim)", -1) from error
        raise
