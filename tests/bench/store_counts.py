"""Counts in the bench run's event-store databases, one per shard: outbox rows left (a
write run's relay work is over when every shard's outbox is empty) and events stored (how
a two-shard run's new users split over the servers)."""

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.polling import eventually

_COUNT = "SELECT COUNT(*) FROM {}"


async def _counts(engines: list[AsyncEngine], table: str) -> list[int]:
    counts = []
    for engine in engines:
        async with engine.connect() as conn:
            counts.append(int((await conn.execute(text(_COUNT.format(table)))).scalar_one()))
    return counts


@contextlib.asynccontextmanager
async def _engines(urls: list[str]) -> AsyncIterator[list[AsyncEngine]]:
    engines = [create_async_engine(url, pool_size=1) for url in urls]
    try:
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


async def outboxes_drained(urls: list[str], limit_s: float = 120) -> None:
    """Until the outbox of every database in `urls` is empty; an error after `limit_s`."""
    async with _engines(urls) as engines:
        await eventually(
            lambda: _counts(engines, "outbox"),
            timeout=limit_s,
            interval=0.1,
            accept=lambda left: not any(left),
            what=f"no outbox rows on {len(urls)} shard(s)",
        )


async def events(urls: list[str]) -> list[int]:
    """SELECT COUNT(*) FROM events on each database, in the order given."""
    async with _engines(urls) as engines:
        return await _counts(engines, "events")


def split(before: list[int], after: list[int]) -> list[int]:
    """The events each shard gained between two counts; an error unless every shard gained
    some: a run over two shards that leaves one untouched means routing broke."""
    gained = [a - b for a, b in zip(after, before, strict=True)]
    if not all(n > 0 for n in gained):
        raise AssertionError(f"a shard got no events in a two-shard run: {gained} per shard")
    return gained
