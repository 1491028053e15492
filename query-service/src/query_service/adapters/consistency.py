"""Read-your-writes: wait until the read models reflect the versions a command reported.

The projector records, per stream, the highest version it has applied to every read
model (<prefix>:applied:<stream id>). A query carrying a consistency token waits, up to
a bound, until every stream in the token has reached its version."""

import asyncio
import time

from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.consistency import StreamVersion

POLL_SECONDS = 0.005


class ConsistencyWaiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    async def behind(self, wanted: list[StreamVersion]) -> list[StreamVersion]:
        """The entries of `wanted` the read models have not reached yet."""
        keys = [ch.applied(self._p, w.stream_id) for w in wanted]
        seen = await self._redis.mget(keys)
        return [w for w, v in zip(wanted, seen, strict=True) if int(v or 0) < w.version]

    async def wait(self, wanted: list[StreamVersion], timeout_s: float) -> list[StreamVersion]:
        """[] once every stream has caught up; what is still behind at the deadline."""
        deadline = time.monotonic() + timeout_s
        missing = await self.behind(wanted)
        pause = POLL_SECONDS
        while missing and time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.05)
            missing = await self.behind(missing)
        return missing
