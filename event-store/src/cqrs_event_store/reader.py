"""The events table, read only: what a reader of the store needs (the projector's gap
filling, rebuilds and consistency check; the query-service's time travel). Nothing here
writes; the command-service builds its own write statements from `cqrs_event_store.tables`.

Gap filling, rebuild replays and single events may come from a read replica
(`cqrs_event_store.replicas`): each says what it needs, and falls back to the primary
when a replica has not reached it. The newest position and the time-travel reads
(`reached`, `of_streams`) always ask the primary."""

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.event_codec import envelope_from_row
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.replicas import ReadRouter
from cqrs_event_store.tables import events
from cqrs_event_store.timestamps import naive_utc

_c = events.c


class EventReader:
    """Envelopes at their current schema versions, read from the store at `engine`, with
    their personal fields revealed by `keys` (erased where the key is destroyed). With
    `keys=None` they are given sealed, as stored: for readers that count or compare bytes,
    never for folding (so every caller says which it is: there is no default). The keys
    are always the primary's (a destroyed key must count at once); the events may come
    from `replicas`' replicas where a read tolerates it (None: all from `engine`)."""

    def __init__(
        self, engine: AsyncEngine, keys: KeyRing | None, replicas: ReadRouter | None = None
    ) -> None:
        self._engine = engine
        self._keys = keys
        self.replicas = replicas or ReadRouter(engine)

    async def _revealed(self, rows: Any) -> list[EventEnvelope]:
        page = [envelope_from_row(r) for r in rows]
        return await self._keys.reveal(page) if self._keys is not None else page

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        """A stream's events with after < version < before, in version order (from a
        replica when it has every one of them)."""
        query = (
            select(events)
            .where(_c.stream_id == stream_id, _c.version > after, _c.version < before)
            .order_by(_c.version)
        )
        wanted = list(range(after + 1, before))
        rows = await self.replicas.read(
            _all(query), complete=lambda found: [r.version for r in found] == wanted
        )
        return await self._revealed(rows)

    async def max_position(self) -> int:
        """The position of the newest event (0: none)."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.max(_c.position))) or 0)

    async def count(self, after: int, up_to: int) -> int:
        """How many events have after < position <= up_to."""
        query = select(func.count()).where(_c.position > after, _c.position <= up_to)

        async def run(conn: AsyncConnection) -> int:
            return int(await conn.scalar(query) or 0)

        return await self.replicas.read(run, needs=up_to)

    async def replay(
        self, after: int, up_to: int, batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Every event with after < position <= up_to, in position order, `batch` at a
        time (each page one query, keyed on the last position read; from a replica that
        has reached `up_to`)."""
        cursor = after
        while cursor < up_to:
            query = (
                select(events)
                .where(_c.position > cursor, _c.position <= up_to)
                .order_by(_c.position)
                .limit(batch)
            )
            rows = await self.replicas.read(_all(query), needs=up_to)
            page = await self._revealed(rows)
            if not page:
                return
            yield page
            cursor = page[-1].position or cursor

    async def event_at(self, stream_id: str, version: int) -> EventEnvelope | None:
        """One event of a stream (None: the stream has no such version)."""
        query = select(events).where(_c.stream_id == stream_id, _c.version == version)
        rows = await self.replicas.read(_all(query), complete=bool)
        return (await self._revealed(rows))[0] if rows else None

    async def reached(self, stream_ids: Collection[str], until: datetime) -> tuple[int, int]:
        """Of the events of `stream_ids` that occurred at or before `until`: the highest
        position (0: none) and how many there are."""
        query = select(func.max(_c.position), func.count()).where(
            _c.stream_id.in_(list(stream_ids)), _c.occurred_at <= naive_utc(until)
        )
        async with self._engine.connect() as conn:
            top, count = (await conn.execute(query)).one()
        return int(top or 0), int(count or 0)

    async def of_streams(
        self,
        stream_ids: Collection[str],
        *,
        limit: int,
        up_to: int | None = None,
        until: datetime | None = None,
    ) -> list[EventEnvelope]:
        """The events of `stream_ids` with position <= `up_to` and occurred at or before
        `until` (each bound when given), in position order, at most `limit` of them."""
        query = select(events).where(_c.stream_id.in_(list(stream_ids)))
        if up_to is not None:
            query = query.where(_c.position <= up_to)
        if until is not None:
            query = query.where(_c.occurred_at <= naive_utc(until))
        query = query.order_by(_c.position).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return await self._revealed(rows)


def _all(query: Any) -> Callable[[AsyncConnection], Awaitable[list[Any]]]:
    async def run(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return run
