"""Replica lag under the write load: the time from a commit being visible on the primary
to the same commit being visible on the read replica (deploy/local/mariadb-replica.sh).

One sample at a time while the load runs: read the primary's newest event position (that
commit is visible there now), then poll the replica every POLL_S until it holds that
position; the sample is the time between the two reads. It can only undercount by the
moment between the commit and the primary read (a few ms under load), never overcount
beyond one poll interval."""

import asyncio
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.bench.load import percentile

POLL_S = 0.002
LIMIT_S = 60.0  # a sample longer than this is a broken replica, not lag
_TOP = text("SELECT COALESCE(MAX(position), 0) FROM events")


async def _top(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(_TOP))


async def _one(primary: AsyncEngine, replica: AsyncEngine) -> float | None:
    """Seconds until the replica shows the primary's newest event (None: no events yet)."""
    wanted = await _top(primary)
    if wanted == 0:
        return None
    started = time.perf_counter()
    while await _top(replica) < wanted:
        if time.perf_counter() - started > LIMIT_S:
            raise AssertionError(f"the replica did not reach position {wanted} in {LIMIT_S}s")
        await asyncio.sleep(POLL_S)
    return time.perf_counter() - started


async def sample(mysql_url: str, replica_server_url: str, until: asyncio.Event) -> dict[str, Any]:
    """Samples until `until` is set: p50/p99/max in ms and how many."""
    database = make_url(mysql_url).database
    primary = create_async_engine(mysql_url, pool_size=1)
    replica = create_async_engine(make_url(replica_server_url).set(database=database), pool_size=1)
    lags: list[float] = []
    try:
        while not until.is_set():
            lag = await _one(primary, replica)
            if lag is None:
                await asyncio.sleep(0.01)
                continue
            lags.append(lag * 1000)
    finally:
        await primary.dispose()
        await replica.dispose()
    return {
        "n": len(lags),
        "p50_ms": round(percentile(lags, 0.5), 2),
        "p99_ms": round(percentile(lags, 0.99), 2),
        "max_ms": round(max(lags, default=0.0), 2),
    }
