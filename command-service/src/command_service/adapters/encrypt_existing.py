"""`command-service privacy encrypt-existing`: what was written before crypto-shredding
is brought in line, in place and in batches (one transaction each): personal fields of
events and outbox rows sealed with their subject's key (created as needed), plain email
claims replaced by their keyed hash, logged requests sealed (accepted) or redacted,
user snapshots and remembered answers sealed. Sealed values are left alone, so a
second run changes nothing. A forgotten subject's plain values become erased."""

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.new_events import sealed_data, subject_to_seal
from command_service.adapters.private_records import (
    REDACTED,
    protected_request,
    request_fields,
    request_subject,
)
from command_service.adapters.write_keys import SessionKeys, WriteKeys
from command_service.application.ports import CommandRecord, ForgottenSubjectError
from command_service.domain.decisions import EMAIL_SCOPE
from cqrs_contracts.commands import COMMAND_TYPES
from cqrs_contracts.events import PERSONAL_FIELDS, UserCreated
from cqrs_contracts.privacy import ERASED
from cqrs_event_store import tables as t
from cqrs_event_store.privacy.cipher import DataKey, is_sealed

Fix = Callable[[Any, SessionKeys], Awaitable[dict[str, Any] | None]]


async def encrypt_existing(
    engine: AsyncEngine, keys: WriteKeys, batch: int = 500
) -> dict[str, int]:
    """How many rows of each table were rewritten."""
    personal_commands = [n for n in COMMAND_TYPES if request_fields(n)]
    run = _Rewrite(engine, keys, batch)
    return {
        "events": await run(t.events, _event, t.events.c.type.in_(list(PERSONAL_FIELDS))),
        "outbox": await run(t.outbox, _outbox),
        "unique_claims": await _rehash_claims(engine, keys, batch),
        "command_log": await run(
            t.command_log, _command, t.command_log.c.type.in_(personal_commands)
        ),
        "snapshots": await run(t.snapshots, _snapshot, t.snapshots.c.stream_type == "user"),
        "idempotency_keys": await run(t.idempotency_keys, _answer),
    }


@dataclass(frozen=True)
class _Rewrite:
    engine: AsyncEngine
    keys: WriteKeys
    batch: int

    async def __call__(self, table: Table, fix: Fix, *where: Any) -> int:
        """Walk `table` in primary-key order, `batch` rows per transaction, writing what
        `fix` gives for a row (None: leave it); how many rows it wrote."""
        [pk] = table.primary_key.columns
        changed, after = 0, None
        while True:
            async with self.engine.begin() as conn:
                cursor = (pk > after,) if after is not None else ()
                query = select(table).where(*where, *cursor).order_by(pk).limit(self.batch)
                rows = (await conn.execute(query)).all()
                session = self.keys.session(conn)
                for row in rows:
                    values = await fix(row, session)
                    if values is not None:
                        key = getattr(row, pk.name)
                        await conn.execute(update(table).where(pk == key).values(**values))
                        changed += 1
            if len(rows) < self.batch:
                return changed
            after = getattr(rows[-1], pk.name)


async def _key(keys: SessionKeys, subject: str) -> DataKey | None:
    """The subject's key (created if none), None for a forgotten one."""
    try:
        return await keys.for_subject(subject, datetime.now(UTC))
    except ForgottenSubjectError:
        return None


def _sealed_or_erased(kind: str, data: Mapping[str, Any], key: DataKey | None) -> dict[str, Any]:
    if key is not None:
        return sealed_data(kind, data, key)
    fields = PERSONAL_FIELDS.get(kind, frozenset())
    return {k: ERASED if k in fields and v is not None else v for k, v in data.items()}


async def _event(row: Any, keys: SessionKeys) -> dict[str, Any] | None:
    subject = subject_to_seal(row.type, row.data)
    if subject is None:
        return None
    return {"data": _sealed_or_erased(row.type, row.data, await _key(keys, subject))}


async def _outbox(row: Any, keys: SessionKeys) -> dict[str, Any] | None:
    payload = json.loads(row.payload)
    kind, data = payload.get("type"), payload.get("data")
    subject = subject_to_seal(kind, data) if isinstance(data, dict) and kind else None
    if subject is None:
        return None
    payload["data"] = _sealed_or_erased(kind, data, await _key(keys, subject))
    return {"payload": json.dumps(payload)}


async def _command(row: Any, keys: SessionKeys) -> dict[str, Any] | None:
    record = CommandRecord(
        row.command_id,
        row.type,
        row.status,
        row.http_status,
        row.aggregate_id,
        None,
        None,
        row.request,
        None,
        [],
        datetime.now(UTC),
        0,
    )
    data = row.request.get("data") if isinstance(row.request, dict) else None
    fields = request_fields(row.type)
    if not isinstance(data, dict) or not any(_plain(data.get(f)) for f in fields):
        return None
    subject = request_subject(record)
    key = await _key(keys, subject) if subject else None
    return {"request": protected_request(row.type, row.request, key)}


async def _snapshot(row: Any, keys: SessionKeys) -> dict[str, Any] | None:
    kind = UserCreated.event_type()  # a user's state holds what their creation holds
    subject = subject_to_seal(kind, row.state)
    if subject is None:
        return None
    return {"state": _sealed_or_erased(kind, row.state, await _key(keys, subject))}


async def _answer(row: Any, keys: SessionKeys) -> dict[str, Any] | None:
    body = json.loads(row.response)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return None
    changed = False
    for event in events:
        subject = subject_to_seal(event["type"], event["data"])
        if subject is not None:
            key = await _key(keys, subject)
            event["data"] = _sealed_or_erased(event["type"], event["data"], key)
            changed = True
    return {"response": json.dumps(body)} if changed else None


async def _rehash_claims(engine: AsyncEngine, keys: WriteKeys, batch: int) -> int:
    """Replace each plain email claim by its keyed hash (a hash is 64 hex digits; an
    email has an @)."""
    c, changed = t.unique_claims.c, 0
    while True:
        async with engine.begin() as conn:
            query = select(t.unique_claims).where(c.scope == EMAIL_SCOPE, c.value.contains("@"))
            rows = (await conn.execute(query.limit(batch))).all()
            for row in rows:
                await conn.execute(
                    update(t.unique_claims)
                    .where(c.scope == row.scope, c.value == row.value)
                    .values(value=keys.hasher.digest(row.value))
                )
            changed += len(rows)
        if len(rows) < batch:
            return changed


def _plain(value: Any) -> bool:
    return value is not None and value not in (ERASED, REDACTED) and not is_sealed(value)
