"""Read-through cache in Redis, invalidated by the projector.

A document is cached under <prefix>:cache:<ReadModel>:<id>, a list page under
<prefix>:cache:<ReadModel>:list:<generation>:<hash>. The projector deletes the document
key and bumps the read model's generation on every change. A reader stores what it read
only if the generation did not move while it was reading, so a slow reader can never
put an old document back after the projector invalidated it: it reads the generation
in the same round trip as the cached copy (before it reads the store), and the put
compares it in Redis.

Cached values are JSON, kept as the bytes Redis holds: an answer from the cache splices
them into the response instead of parsing and re-encoding them. One round trip per
lookup, hit or miss; hits and misses are counted in this process (per replica: the
system stats show every instance)."""

import hashlib
import json
from typing import Any

import msgspec
from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from query_service.adapters.metrics import CACHE_HIT, CACHE_MISS

# SET KEYS[1] = ARGV[1] (ttl ARGV[2]) only while KEYS[2] still holds ARGV[3]
_PUT_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""

# The generation KEYS[1] and the list page cached under ARGV[1] .. generation .. ARGV[2],
# in one round trip. The page's key depends on the generation, so it cannot be declared
# in KEYS: fine on the single Redis this project runs (not on a Redis Cluster).
_LIST_LOOKUP = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""

_GEN = "\x00generation\x00"


class _Versions(msgspec.Struct):
    """What an answer needs from a cached document besides its bytes."""

    versions: dict[str, int] = msgspec.field(default_factory=dict)


class _Object(msgspec.Struct):
    """Any JSON object (decoding checks the cached bytes are one, and nothing more)."""


_versions = msgspec.json.Decoder(_Versions).decode
_an_object = msgspec.json.Decoder(_Object).decode


def _bytes(raw: Any) -> bytes | None:
    """A reply as bytes (a client with decode_responses hands back str)."""
    return raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw or "0")


class ReadCache:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: float, enabled: bool) -> None:
        self._redis = redis
        self._p = prefix
        self._ttl = max(int(ttl_seconds), 1)
        self.enabled = enabled
        self._put = redis.register_script(_PUT_IF_UNCHANGED)
        self._list = redis.register_script(_LIST_LOOKUP)
        self.hits = 0
        self.misses = 0

    def doc_key(self, read_model: str, doc_id: str) -> str:
        return ch.cached_doc(self._p, read_model, doc_id)

    def list_key(self, read_model: str, generation: str, params: dict[str, Any]) -> str:
        return ch.cached_list(self._p, read_model, generation, self._digest(params))

    @staticmethod
    def _digest(params: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:32]

    async def generation(self, read_model: str) -> str:
        return _text(await self._redis.get(ch.generation(self._p, read_model)))

    def _count(self, raw: bytes | None) -> bytes | None:
        if raw is None:
            self.misses += 1
            CACHE_MISS.inc()
        else:
            self.hits += 1
            CACHE_HIT.inc()
        return raw

    async def document(self, read_model: str, doc_id: str) -> tuple[bytes | None, int, str]:
        """(cached JSON or None, the document's own version, the generation to put with)."""
        if not self.enabled:
            return None, 0, "0"
        found, generation = await self._redis.mget(
            ch.cached_doc(self._p, read_model, doc_id), ch.generation(self._p, read_model)
        )
        raw = _bytes(found)
        self._count(raw)
        if raw is None:
            return None, 0, _text(generation)
        return raw, _versions(raw).versions.get(doc_id, 0), _text(generation)

    async def page(self, read_model: str, params: dict[str, Any]) -> tuple[bytes | None, str]:
        """(cached JSON of the list page or None, the generation its key is under)."""
        if not self.enabled:
            return None, "0"
        before, after = ch.cached_list(self._p, read_model, _GEN, self._digest(params)).split(_GEN)
        generation, raw = await self._list(
            keys=[ch.generation(self._p, read_model)], args=[before, after]
        )
        page = _bytes(raw)
        self._count(page)
        if page is not None:
            _an_object(page)
        return page, _text(generation)

    async def get(self, key: str) -> Any | None:
        """The cached value under `key`, decoded (not counted: for tools and tests)."""
        if not self.enabled:
            return None
        raw = await self._redis.get(key)
        return json.loads(raw) if raw else None

    async def put(self, key: str, value: Any, read_model: str, generation: str) -> bool:
        """Cache `value` (JSON bytes, or what encodes to JSON) unless the generation moved."""
        if not self.enabled:
            return False
        body = value if isinstance(value, bytes) else json.dumps(value, default=str)
        gen_key = ch.generation(self._p, read_model)
        return bool(await self._put(keys=[key, gen_key], args=[body, self._ttl, generation]))

    def stats(self) -> dict[str, Any]:
        h, m = self.hits, self.misses
        return {"hits": h, "misses": m, "hit_ratio": round(h / (h + m), 4) if h + m else None}
