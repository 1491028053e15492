"""Read side of the write store: the command log and the event list, paginated, their
personal fields revealed with the data keys (erased once a key is destroyed).

The event store may be split over shards (`cqrs_event_store.shard_routers`). A list asks
every shard (an `aggregate_id` filter only its stream's) and merges their next rows into
one page, with one cursor that says where it is in each shard
(`command_service.adapters.shard_pages`). Events: each shard in position order, the
shards merged by (occurred_at, shard, position); every item says its `shard`; positions
(`from_position`, `to_position`) are per shard, applied to each. Commands: newest first,
merged by (received_at, command_id, shard). One event is read on the shard its id names;
one command (ids name no shard) is asked of every shard at once, the first found wins.

These reads tolerate lag: they go to a read replica within the lag bound
(`cqrs_event_store.replicas`). The event list needs the position its caller has already
seen (`from_position`, or the cursor's last position): a replica that has not reached it
is passed over. A single command or event that a replica does not have yet is looked up
on the primary. The data keys are always read from the primary."""

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from command_service.adapters.shard_pages import (
    BadCursorError,
    advanced,
    decode_cursor,
    encode_cursor,
    is_position,
    is_time_and_id,
    merged,
)
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import envelope_from_row
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.replicas import ReadRouter
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.shards import UnknownShardError
from cqrs_event_store.timestamps import naive_utc, utc

__all__ = ["BadCursorError", "CommandFilter", "EventFilter", "LogReader", "Page"]


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
    def __init__(self, store: ReadRouter | ShardRouters, keys: KeyRing) -> None:
        """`store`: every shard's routers (one router: a one-shard store)."""
        self._shards = store if isinstance(store, ShardRouters) else ShardRouters((store,))
        self._keys = keys

    async def _rows(
        self, router: ReadRouter, query: Any, needs: int = 0, one: bool = False
    ) -> list[Any]:
        """The query's rows from a replica (that has `needs`); `one`: a lookup that the
        primary answers when the replica has no row yet."""

        async def run(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(query)).all())

        return await router.read(run, needs=needs, complete=bool if one else _any)

    async def _on_shards(
        self,
        shards: Collection[int],
        query_of: Callable[[int], Any],
        needs_of: Callable[[int], int] = lambda _: 0,
    ) -> dict[int, list[Any]]:
        """`query_of(shard)`'s rows on each of `shards`, asked concurrently."""
        found = await asyncio.gather(
            *(self._rows(self._shards[s], query_of(s), needs_of(s)) for s in shards)
        )
        return dict(zip(shards, found, strict=True))

    async def command(self, command_id: str) -> dict[str, Any] | None:
        """The command from whichever shard logged it (all asked at once; the first to
        find it answers). A shard that fails fails the lookup only if none found it."""
        query = select(t.command_log).where(t.command_log.c.command_id == command_id)
        lookups = [
            asyncio.ensure_future(self._rows(router, query, one=True))
            for router in self._shards.routers
        ]
        failed: BaseException | None = None
        try:
            for lookup in asyncio.as_completed(lookups):
                try:
                    rows = await lookup
                except Exception as error:
                    failed = error
                    continue
                if rows:
                    return await self._revealed(command_json(rows[0]))
        finally:
            for lookup in lookups:
                lookup.cancel()
        if failed is not None:
            raise failed
        return None

    async def _revealed(self, command: dict[str, Any]) -> dict[str, Any]:
        """A logged command with its request's sealed fields opened (or erased)."""
        request = command["request"]
        data = request.get("data") if isinstance(request, dict) else None
        if not isinstance(data, dict):
            return command
        return command | {"request": request | {"data": await self._keys.reveal_data(data)}}

    async def commands(self, where: CommandFilter, limit: int, cursor: str | None) -> Page:
        """Newest first, over every shard; the cursor holds each shard's (received_at,
        command_id) of the last item it gave."""
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
        places = decode_cursor(cursor, is_time_and_id) if cursor else {}
        after = {s: (_cursor_time(at), last_id) for s, (at, last_id) in places.items()}

        def query_of(shard: int) -> Any:
            more = list(conditions)
            if shard in after:
                at, last_id = after[shard]
                more.append(
                    or_(c.received_at < at, and_(c.received_at == at, c.command_id < last_id))
                )
            return (
                select(t.command_log)
                .where(*more)
                .order_by(c.received_at.desc(), c.command_id.desc())
                .limit(limit + 1)
            )

        rows = await self._on_shards(self._shards.numbers, query_of)
        taken, more = merged(
            rows, lambda s, r: (r.received_at, r.command_id, s), limit, newest_first=True
        )
        items = [await self._revealed(command_json(r)) for _, r in taken]
        moved = advanced(places, taken, lambda r: [utc(r.received_at).isoformat(), r.command_id])
        return Page(items, encode_cursor(moved) if more else None)

    async def event(self, event_id: str) -> EventEnvelope | None:
        """The event from the shard its id names (ids minted before sharding: shard 0)."""
        try:
            router = self._shards.of(event_id)
        except UnknownShardError:
            return None
        query = select(t.events).where(t.events.c.event_id == event_id)
        rows = await self._rows(router, query, one=True)
        return (await self._keys.reveal([envelope_from_row(rows[0])]))[0] if rows else None

    async def events(self, where: EventFilter, limit: int, cursor: str | None) -> Page:
        """Each shard in position order, merged by (occurred_at, shard, position); the
        cursor holds each shard's last position given."""
        c = t.events.c
        conditions = []
        shards: Collection[int] = self._shards.numbers
        if where.type:
            conditions.append(c.type == where.type)
        if where.aggregate_id:
            conditions.append(c.stream_id == where.aggregate_id)
            if not self._shards.map.has(where.aggregate_id):
                return Page([], None)
            shards = [self._shards.map.of(where.aggregate_id)]
        if where.from_position is not None:
            conditions.append(c.position >= where.from_position)
        if where.to_position is not None:
            conditions.append(c.position <= where.to_position)
        places = decode_cursor(cursor, is_position) if cursor else {}

        def query_of(shard: int) -> Any:
            after = [c.position > places[shard]] if shard in places else []
            return select(t.events).where(*conditions, *after).order_by(c.position).limit(limit + 1)

        def needs_of(shard: int) -> int:  # a position the caller knows exists there
            return max(where.from_position or 0, int(places.get(shard, 0)))

        rows = await self._on_shards(shards, query_of, needs_of)
        taken, more = merged(rows, lambda s, r: (r.occurred_at, s, r.position), limit)
        envelopes = await self._keys.reveal([envelope_from_row(r) for _, r in taken])
        items = [
            e.model_dump(mode="json") | {"shard": s}
            for e, (s, _) in zip(envelopes, taken, strict=True)
        ]
        moved = advanced(places, taken, lambda r: r.position)
        return Page(items, encode_cursor(moved) if more else None)


def _cursor_time(text: str) -> datetime:
    try:
        return naive_utc(datetime.fromisoformat(text))
    except ValueError as error:
        raise BadCursorError("malformed cursor") from error


def _any(_rows: list[Any]) -> bool:
    return True
