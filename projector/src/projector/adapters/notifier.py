"""After a read model changed: drop its cache entries, then tell every query replica;
after an event is in every read model: record its version and feed it on.
Key and channel names: `cqrs_contracts.channels`."""

from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification

APPLIED_TTL_SECONDS = 7 * 86400
# SET key to ARGV[1] unless it already holds a higher version (versions never go back).
_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return current
"""


class RedisNotifier:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix
        self._raise_to = redis.register_script(_RAISE_TO)

    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        await self.published_many(changes, [envelope])

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        """One round trip: per changed document drop its cache entry, bump the read
        model's generation and announce it; then record each stream's version as applied
        (versions never go back) and put the events on the event feed."""
        p = self._p
        latest: dict[str, int] = {}
        for envelope in envelopes:
            latest[envelope.stream_id] = max(latest.get(envelope.stream_id, 0), envelope.version)
        async with self._redis.pipeline(transaction=False) as pipe:
            for note in changes:
                payload = note.model_dump_json()
                pipe.delete(ch.cached_doc(p, note.read_model, note.id))
                pipe.incr(ch.generation(p, note.read_model))
                pipe.publish(ch.read_model_channel(p, note.read_model), payload)
                pipe.publish(ch.document_channel(p, note.read_model, note.id), payload)
            for stream_id, version in latest.items():
                await self._raise_to(
                    keys=[ch.applied(p, stream_id)],
                    args=[version, APPLIED_TTL_SECONDS],
                    client=pipe,
                )
            for envelope in envelopes:
                pipe.publish(ch.events_channel(p), envelope.model_dump_json())
            await pipe.execute()


async def forget_cached(redis: Redis, prefix: str, read_models: list[str]) -> int:
    """Drop every cached document and list of these read models; the keys removed."""
    removed = 0
    for name in read_models:
        keys = [k async for k in redis.scan_iter(match=ch.cached_pattern(prefix, name), count=500)]
        if keys:
            removed += await redis.delete(*keys)
        await redis.incr(ch.generation(prefix, name))
    await redis.publish(ch.rebuilt_channel(prefix), ",".join(read_models))
    return removed
