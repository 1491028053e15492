"""The History port on the event store: `cqrs_event_store.reader.EventReader` over an
engine of its own (read only; the one module of the query-service that touches the
event store, as the import-linter contract says), revealing personal fields with a key
ring of its own, read afresh for each question: folded past states show plaintext, or
the erased placeholder at every version once the user's key is destroyed. A store that
is down or slow, or a data key not there yet, answers HistoryUnavailableError, so only
time travel fails with it."""

import asyncio
from collections.abc import Awaitable, Collection
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import MySQLSettings, PrivacySettings
from cqrs_event_store.privacy.keyring import KeyRing, MissingDataKeyError
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from query_service.queries.ports import HistoryUnavailableError

T = TypeVar("T")


def history_engine(mysql: MySQLSettings) -> AsyncEngine:
    """A small pool: time travel is rare next to live queries."""
    return create_async_engine(
        mysql.url(),
        pool_size=2,
        max_overflow=3,
        pool_pre_ping=True,
        connect_args={"connect_timeout": mysql.connect_timeout},
    )


class EventStoreHistory:
    def __init__(self, engine: AsyncEngine, timeout_s: float, privacy: PrivacySettings) -> None:
        self.engine = engine
        # no key is reused across questions (ttl 0): nothing tells a query replica that a
        # user was forgotten, and a fold with a destroyed key must read as erased at once
        keys = KeyRing(engine, master_key_from(privacy), ttl=0)
        self._reader = EventReader(engine, keys)
        self._timeout = timeout_s

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except (SQLAlchemyError, OSError, TimeoutError, MissingDataKeyError) as down:
            raise HistoryUnavailableError(f"{type(down).__name__}: {down}"[:300]) from down

    async def ping(self) -> None:
        """Raises when the event store does not answer (the health check)."""
        await self._bounded(self._reader.max_position())

    async def event_at(self, stream_id: str, version: int) -> EventEnvelope | None:
        return await self._bounded(self._reader.event_at(stream_id, version))

    async def reached(self, stream_ids: Collection[str], until: datetime) -> tuple[int, int]:
        return await self._bounded(self._reader.reached(stream_ids, until))

    async def of_streams(
        self,
        stream_ids: Collection[str],
        *,
        limit: int,
        up_to: int | None = None,
        until: datetime | None = None,
    ) -> list[EventEnvelope]:
        read = self._reader.of_streams(stream_ids, limit=limit, up_to=up_to, until=until)
        return await self._bounded(read)
