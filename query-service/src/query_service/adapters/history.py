"""The History port on the event store: `cqrs_event_store.reader.EventReader` over an
engine of its own (read only; the one module of the query-service that touches the
event store, as the import-linter contract says), revealing personal fields with a key
ring of its own, read afresh for each question: folded past states show plaintext, or
the erased placeholder at every version once the user's key is destroyed. A store that
is down or slow, or a data key not there yet, answers HistoryUnavailableError, so only
time travel fails with it.

The event store may be split over shards: an engine per shard (`history_engines`), each
stream read on its own shard; the health check pings every shard, each a check of its
own."""

import asyncio
from collections.abc import Awaitable, Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import MySQLSettings, PrivacySettings
from cqrs_event_store.privacy.keyring import KeyRing, MissingDataKeyError
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_event_store.shard_routers import ShardRouters, health_check_name, shard_urls
from query_service.queries.ports import HistoryUnavailableError

T = TypeVar("T")


def history_engines(mysql: MySQLSettings) -> list[AsyncEngine]:
    """An engine per shard, by number, each a small pool: time travel is rare next to
    live queries."""
    return [
        create_async_engine(
            url,
            pool_size=2,
            max_overflow=3,
            pool_pre_ping=True,
            connect_args={"connect_timeout": mysql.connect_timeout},
        )
        for url in shard_urls(mysql)
    ]


class EventStoreHistory:
    def __init__(
        self,
        engines: AsyncEngine | Sequence[AsyncEngine],
        timeout_s: float,
        privacy: PrivacySettings,
    ) -> None:
        """`engines`: every shard's primary, by shard number (one engine: one shard)."""
        self.engines = [engines] if isinstance(engines, AsyncEngine) else list(engines)
        self.engine = self.engines[0]
        # no key is reused across questions (ttl 0): nothing tells a query replica that a
        # user was forgotten, and a fold with a destroyed key must read as erased at once
        keys = KeyRing(self.engines, master_key_from(privacy), ttl=0)
        self._reader = EventReader(ShardRouters.from_engines(self.engines), keys)
        self._timeout = timeout_s

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except (SQLAlchemyError, OSError, TimeoutError, MissingDataKeyError) as down:
            raise HistoryUnavailableError(f"{type(down).__name__}: {down}"[:300]) from down

    async def ping(self, shard: int = 0) -> None:
        """Raises when the shard does not answer."""
        await self._bounded(self._reader.max_position(shard))

    @property
    def check_names(self) -> list[str]:
        """The health checks' names, one per shard, by shard number."""
        return [health_check_name(n) for n in range(len(self.engines))]

    def pings(self) -> dict[str, Awaitable[None]]:
        """The health checks: every shard's ping, by its check's name."""
        return {name: self.ping(n) for n, name in enumerate(self.check_names)}

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()

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
        through: EventEnvelope | None = None,
    ) -> list[EventEnvelope]:
        read = self._reader.of_streams(
            stream_ids, limit=limit, up_to=up_to, until=until, through=through
        )
        return await self._bounded(read)
