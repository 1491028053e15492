"""The events table, read only: what a reader of the store needs (the projector's gap
filling, rebuilds and consistency check). Nothing here writes; the command-service
builds its own write statements from `cqrs_event_store.tables`."""

from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.event_codec import envelope_from_row
from cqrs_event_store.tables import events

_c = events.c


class EventReader:
    """Envelopes at their current schema versions, read from the store at `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        """A stream's events with after < version < before, in version order."""
        query = (
            select(events)
            .where(_c.stream_id == stream_id, _c.version > after, _c.version < before)
            .order_by(_c.version)
        )
        async with self._engine.connect() as conn:
            return [envelope_from_row(r) for r in await conn.execute(query)]

    async def max_position(self) -> int:
        """The position of the newest event (0: none)."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.max(_c.position))) or 0)

    async def count(self, after: int, up_to: int) -> int:
        """How many events have after < position <= up_to."""
        query = select(func.count()).where(_c.position > after, _c.position <= up_to)
        async with self._engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def replay(
        self, after: int, up_to: int, batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Every event with after < position <= up_to, in position order, `batch` at a
        time (each page one query, keyed on the last position read)."""
        cursor = after
        while cursor < up_to:
            query = (
                select(events)
                .where(_c.position > cursor, _c.position <= up_to)
                .order_by(_c.position)
                .limit(batch)
            )
            async with self._engine.connect() as conn:
                page = [envelope_from_row(r) for r in await conn.execute(query)]
            if not page:
                return
            yield page
            cursor = page[-1].position or cursor
