"""Read side of the write store: the command log and the event list, paginated, their
personal fields revealed with the data keys (erased once a key is destroyed).

These reads tolerate lag: they go to a read replica within the lag bound
(`cqrs_event_store.replicas`). The event list needs the position its caller has already
seen (`from_position`, or the cursor's last position): a replica that has not reached it
is passed over. A single command or event that a replica does not have yet is looked up
on the primary. The data keys are always read from the primary."""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import envelope_from_row
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.replicas import ReadRouter
from cqrs_event_store.timestamps import naive_utc, utc


class BadCursorError(ValueError):
    """A cursor that this service did not hand out."""


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str, *types: type) -> list[Any]:
    """The values of a cursor this service made: as many, and of the types, given."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, json.JSONDecodeError) as error:
        raise BadCursorError("malformed cursor") from error
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(
            isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)
        )
    ):
        raise BadCursorError("malformed cursor")
    return values


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class CommandFilter:
    type: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    aggregate_id: str | None = None
    from_position: int | None = None
    to_position: int | None = None


def command_json(row: Any) -> dict[str, Any]:
    return {
        "command_id": row.command_id,
        "type": row.type,
        "status": row.status,
        "http_status": row.http_status,
        "aggregate_id": row.aggregate_id,
        "idempotency_key": row.idempotency_key,
        "actor": row.actor,
        "request": row.request,
        "error": row.error,
        "event_ids": row.event_ids,
        "received_at": utc(row.received_at).isoformat(),
        "duration_ms": row.duration_ms,
    }


class LogReader:
    def __init__(self, replicas: ReadRouter, keys: KeyRing) -> None:
        self._replicas = replicas
        self._keys = keys

    async def _rows(self, query: Any, needs: int = 0, one: bool = False) -> list[Any]:
        """The query's rows from a replica (that has `needs`); `one`: a lookup that the
        primary answers when the replica has no row yet."""

        async def run(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(query)).all())

        return await self._replicas.read(run, needs=needs, complete=bool if one else _any)

    async def command(self, command_id: str) -> dict[str, Any] | None:
        query = select(t.command_log).where(t.command_log.c.command_id == command_id)
        rows = await self._rows(query, one=True)
        return await self._revealed(command_json(rows[0])) if rows else None

    async def _revealed(self, command: dict[str, Any]) -> dict[str, Any]:
        """A logged command with its request's sealed fields opened (or erased)."""
        request = command["request"]
        data = request.get("data") if isinstance(request, dict) else None
        if not isinstance(data, dict):
            return command
        return command | {"request": request | {"data": await self._keys.reveal_data(data)}}

    async def commands(self, where: CommandFilter, limit: int, cursor: str | None) -> Page:
        """Newest first; the cursor is the (received_at, command_id) of the last item."""
        c = t.command_log.c
        conditions = []
        if where.type:
            conditions.append(c.type == where.type)
        if where.status:
            conditions.append(c.status == where.status)
        if where.since:
            conditions.append(c.received_at >= naive_utc(where.since))
        if where.until:
            conditions.append(c.received_at < naive_utc(where.until))
        if cursor:
            text, last_id = decode_cursor(cursor, str, str)
            try:
                at = naive_utc(datetime.fromisoformat(text))
            except ValueError as error:
                raise BadCursorError("malformed cursor") from error
            conditions.append(
                or_(c.received_at < at, and_(c.received_at == at, c.command_id < last_id))
            )
        query = (
            select(t.command_log)
            .where(*conditions)
            .order_by(c.received_at.desc(), c.command_id.desc())
            .limit(limit + 1)
        )
        rows = await self._rows(query)
        items = [await self._revealed(command_json(r)) for r in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        next_cursor = (
            encode_cursor(utc(last.received_at).isoformat(), last.command_id) if last else None
        )
        return Page(items, next_cursor)

    async def event(self, event_id: str) -> EventEnvelope | None:
        query = select(t.events).where(t.events.c.event_id == event_id)
        rows = await self._rows(query, one=True)
        return (await self._keys.reveal([envelope_from_row(rows[0])]))[0] if rows else None

    async def events(self, where: EventFilter, limit: int, cursor: str | None) -> Page:
        """In global position order; the cursor is the last position returned."""
        c = t.events.c
        conditions = []
        seen = where.from_position or 0  # a position the caller knows exists
        if where.type:
            conditions.append(c.type == where.type)
        if where.aggregate_id:
            conditions.append(c.stream_id == where.aggregate_id)
        if where.from_position is not None:
            conditions.append(c.position >= where.from_position)
        if where.to_position is not None:
            conditions.append(c.position <= where.to_position)
        if cursor:
            (after,) = decode_cursor(cursor, int)
            conditions.append(c.position > after)
            seen = max(seen, after)
        query = select(t.events).where(*conditions).order_by(c.position).limit(limit + 1)
        rows = await self._rows(query, needs=seen)
        envelopes = await self._keys.reveal([envelope_from_row(r) for r in rows[:limit]])
        items = [e.model_dump(mode="json") for e in envelopes]
        next_cursor = encode_cursor(rows[limit - 1].position) if len(rows) > limit else None
        return Page(items, next_cursor)


def _any(_rows: list[Any]) -> bool:
    return True
