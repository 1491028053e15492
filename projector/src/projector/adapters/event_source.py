"""Reads the event store (MySQL, owned by command-service) for gap filling and rebuilds.

Only the columns the projector needs are declared here; the schema itself is created
by command-service's migrations."""

from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope, EventMetadata

events = Table(
    "events",
    MetaData(),
    Column("position", BigInteger, primary_key=True),
    Column("event_id", String(36)),
    Column("stream_type", String(50)),
    Column("stream_id", String(64)),
    Column("version", Integer),
    Column("type", String(100)),
    Column("schema_version", SmallInteger),
    Column("data", JSON),
    Column("metadata", JSON),
    Column("occurred_at", DateTime),
)


def _envelope(row: Any) -> EventEnvelope:
    return EventEnvelope(
        event_id=row.event_id,
        position=row.position,
        stream_type=row.stream_type,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        schema_version=row.schema_version,
        data=row.data,
        metadata=EventMetadata.model_validate(row.metadata or {}),
        occurred_at=row.occurred_at.replace(tzinfo=UTC),
    )


class EventSource:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        """A stream's events with after < version < before, in version order."""
        query = (
            select(events)
            .where(events.c.stream_id == stream_id, events.c.version > after)
            .where(events.c.version < before)
            .order_by(events.c.version)
        )
        async with self._engine.connect() as conn:
            return [_envelope(r) for r in await conn.execute(query)]

    async def max_position(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.max(events.c.position))) or 0)

    async def count(self, after: int, up_to: int) -> int:
        query = select(func.count()).where(events.c.position > after, events.c.position <= up_to)
        async with self._engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def replay(
        self, after: int, up_to: int, batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Every event with after < position <= up_to, in position order, in batches."""
        cursor = after
        while cursor < up_to:
            query = (
                select(events)
                .where(events.c.position > cursor, events.c.position <= up_to)
                .order_by(events.c.position)
                .limit(batch)
            )
            async with self._engine.connect() as conn:
                rows = [_envelope(r) for r in await conn.execute(query)]
            if not rows:
                return
            yield rows
            cursor = rows[-1].position or cursor
