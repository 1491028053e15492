"""The change announcement beside the writer: after a read model changed (by an event or
an admin correction), drop its cache entries, then tell every query replica; after an
event is in every read model, record its version and feed it on. Key and channel names:
`cqrs_contracts.channels`."""

from typing import Any

from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification

APPLIED_TTL_SECONDS = 7 * 86400
CHANGES_PER_CALL = 100  # a script call is atomic: keep each one short for other clients
# One call for many changes and events, so the client packs one command and reads one
# reply instead of four per change and two per event. In order: per change drop its
# cached document, bump its read model's generation, announce it on the read model's and
# the document's channels; then raise each stream's applied version (never back); then
# feed every event on.
# KEYS: per change (cached document, generation), then per stream its applied key.
# ARGV: changes, streams, ttl, feed channel; per change (read model channel, document
# channel, payload); per stream its version; then every event's payload.
_PUBLISH = """
local changes, streams = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl, feed = ARGV[3], ARGV[4]
local a = 5
for i = 0, changes - 1 do
  redis.call('DEL', KEYS[2 * i + 1])
  redis.call('INCR', KEYS[2 * i + 2])
  redis.call('PUBLISH', ARGV[a], ARGV[a + 2])
  redis.call('PUBLISH', ARGV[a + 1], ARGV[a + 2])
  a = a + 3
end
for j = 1, streams do
  local key = KEYS[2 * changes + j]
  local current = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[a]) > current then
    redis.call('SET', key, ARGV[a], 'EX', ttl)
  end
  a = a + 1
end
for k = a, #ARGV do
  redis.call('PUBLISH', feed, ARGV[k])
end
return 0
"""


class RedisNotifier:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix
        self._publish = redis.register_script(_PUBLISH)

    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        await self.published_many(changes, [envelope])

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        """One round trip: per changed document drop its cache entry, bump the read
        model's generation and announce it; then record each stream's version as applied
        (versions never go back) and put the events on the event feed. No envelopes (an
        admin correction): only the changes."""
        latest: dict[str, int] = {}
        for envelope in envelopes:
            latest[envelope.stream_id] = max(latest.get(envelope.stream_id, 0), envelope.version)
        chunks = [
            changes[i : i + CHANGES_PER_CALL] for i in range(0, len(changes), CHANGES_PER_CALL)
        ]
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks[:-1]:
                await self._call(pipe, chunk, {}, [])
            await self._call(pipe, chunks[-1] if chunks else [], latest, envelopes)
            await pipe.execute()

    async def _call(
        self,
        pipe: Any,
        changes: list[ChangeNotification],
        latest: dict[str, int],
        envelopes: list[EventEnvelope],
    ) -> None:
        p = self._p
        keys: list[str] = []
        args: list[str | int] = [len(changes), len(latest), APPLIED_TTL_SECONDS]
        args.append(ch.events_channel(p))
        for note in changes:
            keys += [ch.cached_doc(p, note.read_model, note.id), ch.generation(p, note.read_model)]
            args += [
                ch.read_model_channel(p, note.read_model),
                ch.document_channel(p, note.read_model, note.id),
                note.model_dump_json(),
            ]
        keys += [ch.applied(p, stream_id) for stream_id in latest]
        args += list(latest.values())
        args += [envelope.model_dump_json() for envelope in envelopes]
        await self._publish(keys=keys, args=args, client=pipe)


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


async def forget_past(redis: Redis, prefix: str, model_name: str, doc_id: str) -> bool:
    """Drop every cached time-travel answer of one document (its one hash,
    `channels.past_answers`): erasure must not leave past copies of it; whether any was."""
    return bool(await redis.delete(ch.past_answers(prefix, model_name, doc_id)))
