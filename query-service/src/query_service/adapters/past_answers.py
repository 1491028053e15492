"""The PastAnswers port in Redis: one hash per document
(`cqrs_contracts.channels.past_answers`), a field per point in its past, the hash's TTL
renewed on every put. Redis down: a miss, and the put is skipped (the answer is folded
again next time)."""

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cqrs_contracts import channels as ch


class RedisPastAnswers:
    def __init__(self, redis: Redis, prefix: str, ttl_s: float) -> None:
        self._redis, self._prefix, self._ttl = redis, prefix, max(1, int(ttl_s))

    async def get(self, read_model: str, doc_id: str, point: str) -> bytes | None:
        try:
            raw = await self._redis.hget(ch.past_answers(self._prefix, read_model, doc_id), point)
        except RedisError:
            return None
        return raw if isinstance(raw, bytes) else None  # the services' clients answer bytes

    async def put(self, read_model: str, doc_id: str, point: str, value: bytes) -> None:
        key = ch.past_answers(self._prefix, read_model, doc_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, point, value)
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except RedisError:
            return
