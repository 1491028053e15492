"""After a read model changed: drop its cache entries, then tell every query replica.

Keys and channels (all under the configured prefix, e.g. "cqrs"):
  cache:<ReadModel>:<id>     a cached document (the query service fills it)
  cache:gen:<ReadModel>      a generation counter; list caches include it, so an INCR
                             invalidates every cached list of that read model at once
  rm:<ReadModel>             channel: every change of that read model
  rm:<ReadModel>:<id>        channel: changes of one document
  events                     channel: the event feed (every event, once)
"""

from redis.asyncio import Redis

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification


class RedisNotifier:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    async def changed(self, note: ChangeNotification) -> None:
        payload = note.model_dump_json()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(f"{self._p}:cache:{note.read_model}:{note.id}")
            pipe.incr(f"{self._p}:cache:gen:{note.read_model}")
            pipe.publish(f"{self._p}:rm:{note.read_model}", payload)
            pipe.publish(f"{self._p}:rm:{note.read_model}:{note.id}", payload)
            await pipe.execute()

    async def event(self, envelope: EventEnvelope) -> None:
        await self._redis.publish(f"{self._p}:events", envelope.model_dump_json())


async def forget_cached(redis: Redis, prefix: str, read_models: list[str]) -> int:
    """Drop every cached document and list of these read models; the keys removed."""
    removed = 0
    for name in read_models:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:cache:{name}:*", count=500)]
        if keys:
            removed += await redis.delete(*keys)
        await redis.incr(f"{prefix}:cache:gen:{name}")
    await redis.publish(f"{prefix}:rm:rebuilt", ",".join(read_models))
    return removed
