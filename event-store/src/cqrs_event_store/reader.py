"""The events table, read only: what a reader of the store needs (the projector's gap
filling, rebuilds and consistency check; the query-service's time travel). Nothing here
writes; the command-service builds its own write statements from `cqrs_event_store.tables`.

The store may be split over shards (`cqrs_event_store.shards`; `ShardRouters` holds one
read router per shard). A stream's reads go to the shard its id names. Positions are per
shard: the whole-store reads (newest positions, counts, replays) take and give one
position per shard (`Positions`), and the one-shard forms (`max_position`, `count`,
`replay`) say which shard (0 by default, all of a one-shard store).

Gap filling, rebuild replays and single events may come from a read replica
(`cqrs_event_store.replicas`; shard 0's only): each says what it needs, and falls back to
the primary when a replica has not reached it. The newest positions and the time-travel
reads (`reached`, `of_streams`) always ask the primaries."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.event_codec import envelope_from_row
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.replicas import ReadRouter
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.tables import events
from cqrs_event_store.timestamps import naive_utc

_c = events.c
Positions = Mapping[int, int]  # shard -> a position on it (a shard left out: 0)


class EventReader:
    """Envelopes at their current schema versions, read from the store at `store` (one
    engine, or every shard's routers), with their personal fields revealed by `keys`
    (erased where the key is destroyed). With `keys=None` they are given sealed, as
    stored: for readers that count or compare bytes, never for folding (so every caller
    says which it is: there is no default). The keys are always the primaries' (a
    destroyed key must count at once); the events may come from replicas where a read
    tolerates it (`replicas`: shard 0's router when `store` is one engine)."""

    def __init__(
        self,
        store: AsyncEngine | ShardRouters,
        keys: KeyRing | None,
        replicas: ReadRouter | None = None,
    ) -> None:
        self.shards = (
            store if isinstance(store, ShardRouters) else ShardRouters.single(store, replicas)
        )
        self._keys = keys
        self.replicas = self.shards[0]

    async def _revealed(self, rows: Any) -> list[EventEnvelope]:
        page = [envelope_from_row(r) for r in rows]
        return await self._keys.reveal(page) if self._keys is not None else page

    # --- one stream: its shard -----------------------------------------------------

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        """A stream's events with after < version < before, in version order, from its
        shard (from a replica when it has every one of them)."""
        query = (
            select(events)
            .where(_c.stream_id == stream_id, _c.version > after, _c.version < before)
            .order_by(_c.version)
        )
        wanted = list(range(after + 1, before))
        rows = await self.shards.of(stream_id).read(
            _all(query), complete=lambda found: [r.version for r in found] == wanted
        )
        return await self._revealed(rows)

    async def event_at(self, stream_id: str, version: int) -> EventEnvelope | None:
        """One event of a stream (None: the stream has no such version), from its shard."""
        query = select(events).where(_c.stream_id == stream_id, _c.version == version)
        rows = await self.shards.of(stream_id).read(_all(query), complete=bool)
        return (await self._revealed(rows))[0] if rows else None

    # --- one shard -----------------------------------------------------------------

    async def max_position(self, shard: int = 0) -> int:
        """The position of the shard's newest event (0: none), from its primary."""
        async with self.shards[shard].primary.connect() as conn:
            return int(await conn.scalar(select(func.max(_c.position))) or 0)

    async def count(self, after: int, up_to: int, shard: int = 0) -> int:
        """How many events of the shard have after < position <= up_to."""
        query = select(func.count()).where(_c.position > after, _c.position <= up_to)

        async def run(conn: AsyncConnection) -> int:
            return int(await conn.scalar(query) or 0)

        return await self.shards[shard].read(run, needs=up_to)

    async def replay(
        self, after: int, up_to: int, batch: int, shard: int = 0
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Every event of the shard with after < position <= up_to, in position order,
        `batch` at a time (each page one query, keyed on the last position read; from a
        replica that has reached `up_to`)."""
        router = self.shards[shard]
        cursor = after
        while cursor < up_to:
            query = (
                select(events)
                .where(_c.position > cursor, _c.position <= up_to)
                .order_by(_c.position)
                .limit(batch)
            )
            rows = await router.read(_all(query), needs=up_to)
            page = await self._revealed(rows)
            if not page:
                return
            yield page
            cursor = page[-1].position or cursor

    # --- every shard ---------------------------------------------------------------

    async def max_positions(self) -> dict[int, int]:
        """Every shard's newest position (asked concurrently)."""
        tops = await asyncio.gather(*(self.max_position(s) for s in self.shards.numbers))
        return dict(zip(self.shards.numbers, tops, strict=True))

    async def count_shards(self, after: Positions, up_to: Positions) -> int:
        """How many events have after[s] < position <= up_to[s], over the shards of `up_to`."""
        counts = await asyncio.gather(
            *(self.count(after.get(s, 0), top, s) for s, top in up_to.items())
        )
        return sum(counts)

    async def replay_shards(
        self, after: Positions, up_to: Positions, batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        """`replay` of each shard of `up_to` in turn (shard order; position order within
        one; a page never mixes shards). Projections read the streams of one shard
        together, so no order between shards is needed."""
        for shard in sorted(up_to):
            async for page in self.replay(after.get(shard, 0), up_to[shard], batch, shard):
                yield page

    # --- time travel: the shards of the streams asked about ------------------------

    async def reached(self, stream_ids: Collection[str], until: datetime) -> tuple[int, int]:
        """Of the events of `stream_ids` that occurred at or before `until`: the highest
        position (0: none) and how many there are. Streams on several shards (which
        projections do not mix) give the sum of each shard's highest position: like one
        shard's, it grows with every event a later `until` reaches, so (position, count)
        still names the set of events reached."""

        async def on(shard: int, ids: list[str]) -> tuple[int, int]:
            query = select(func.max(_c.position), func.count()).where(
                _c.stream_id.in_(ids), _c.occurred_at <= naive_utc(until)
            )
            async with self.shards[shard].primary.connect() as conn:
                top, count = (await conn.execute(query)).one()
            return int(top or 0), int(count or 0)

        found = await asyncio.gather(
            *(on(s, ids) for s, ids in self.shards.group(stream_ids).items())
        )
        return sum(top for top, _ in found), sum(count for _, count in found)

    async def of_streams(
        self,
        stream_ids: Collection[str],
        *,
        limit: int,
        up_to: int | None = None,
        until: datetime | None = None,
        through: EventEnvelope | None = None,
    ) -> list[EventEnvelope]:
        """The events of `stream_ids` with position <= `up_to` and occurred at or before
        `until` (each bound when given), at most `limit` of them. `up_to` is a position of
        the streams' shard (ValueError for streams on several). `through`, a stored event:
        on its shard the events up to its position; on any other, the events that occurred
        at or before it. Order: position order on one shard; over several, by
        (occurred_at, shard, position)."""
        groups = self.shards.group(stream_ids)
        if up_to is not None and len(groups) > 1:
            raise ValueError("up_to is one shard's position: these streams are on several")
        home = self.shards.map.of(through.stream_id) if through is not None else None

        async def on(shard: int, ids: list[str]) -> list[Any]:
            query = select(events).where(_c.stream_id.in_(ids))
            if up_to is not None:
                query = query.where(_c.position <= up_to)
            if until is not None:
                query = query.where(_c.occurred_at <= naive_utc(until))
            if through is not None and shard == home:
                query = query.where(_c.position <= (through.position or 0))
            elif through is not None:
                query = query.where(_c.occurred_at <= naive_utc(through.occurred_at))
            query = query.order_by(_c.position).limit(limit)
            async with self.shards[shard].primary.connect() as conn:
                return [(shard, r) for r in (await conn.execute(query)).all()]

        found = await asyncio.gather(*(on(s, ids) for s, ids in groups.items()))
        rows = [row for shard_rows in found for row in shard_rows]
        if len(found) > 1:
            rows.sort(key=lambda sr: (sr[1].occurred_at, sr[0], sr[1].position))
        return await self._revealed([r for _, r in rows[:limit]])


def _all(query: Any) -> Callable[[AsyncConnection], Awaitable[list[Any]]]:
    async def run(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return run
