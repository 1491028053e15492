"""Read-through cache in Redis, invalidated by the projector.

A document is cached under <prefix>:cache:<ReadModel>:<id>, a list page under
<prefix>:cache:<ReadModel>:list:<generation>:<hash>. The projector deletes the document
key and bumps the read model's generation on every change. A reader stores what it read
only if the generation did not move while it was reading, so a slow reader can never
put an old document back after the projector invalidated it."""

import hashlib
import json
from typing import Any

from redis.asyncio import Redis

from cqrs_contracts import channels as ch

# SET KEYS[1] = ARGV[1] (ttl ARGV[2]) only while KEYS[2] still holds ARGV[3]
_PUT_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


class ReadCache:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: float, enabled: bool) -> None:
        self._redis = redis
        self._p = prefix
        self._ttl = max(int(ttl_seconds), 1)
        self.enabled = enabled
        self._put = redis.register_script(_PUT_IF_UNCHANGED)

    def doc_key(self, read_model: str, doc_id: str) -> str:
        return ch.cached_doc(self._p, read_model, doc_id)

    def list_key(self, read_model: str, generation: str, params: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
        return ch.cached_list(self._p, read_model, generation, digest.hexdigest()[:32])

    async def generation(self, read_model: str) -> str:
        raw = await self._redis.get(ch.generation(self._p, read_model))
        return raw.decode() if isinstance(raw, bytes) else str(raw or "0")

    async def get(self, key: str) -> Any | None:
        if not self.enabled:
            return None
        raw = await self._redis.get(key)
        await self._redis.incr(ch.cache_stat(self._p, "hits" if raw else "misses"))
        return json.loads(raw) if raw else None

    async def put(self, key: str, value: Any, read_model: str, generation: str) -> bool:
        if not self.enabled:
            return False
        body = json.dumps(value, default=str)
        gen_key = ch.generation(self._p, read_model)
        return bool(await self._put(keys=[key, gen_key], args=[body, self._ttl, generation]))

    async def stats(self) -> dict[str, Any]:
        hits, misses = await self._redis.mget(
            ch.cache_stat(self._p, "hits"), ch.cache_stat(self._p, "misses")
        )
        h, m = int(hits or 0), int(misses or 0)
        return {"hits": h, "misses": m, "hit_ratio": round(h / (h + m), 4) if h + m else None}
