"""Reading side of the data keys: the keys a reader needs to reveal what it reads,
fetched in one query per batch and cached for `ttl` seconds (a destroyed key for good).
A key that the table does not hold, or a lookup that fails, raises: the reader retries,
it never shows a sealed value as erased because of a hiccup. `forget(subject)` drops a
person's key at once (the projector calls it on their `UserForgotten`).

A key lives on the shard its id names (`ShardMap.of(key_id)`: it is minted on its
subject's shard): the ring holds each shard's primary and asks each shard involved only
for its own ids, one query per shard, concurrently."""

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.privacy import data_keys
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.privacy.master_key import MasterKeyProvider
from cqrs_event_store.privacy.sealing import reveal_fields, sealed_key_ids
from cqrs_event_store.shards import ShardMap

FOREVER = float("inf")


class MissingDataKeyError(RuntimeError):
    """A sealed value names a data key the table does not hold (yet): retry later."""


class KeyRing:
    def __init__(
        self,
        engines: AsyncEngine | Sequence[AsyncEngine],
        master: MasterKeyProvider,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`engines`: every shard's primary, by shard number (one engine: one shard)."""
        self._engines = [engines] if isinstance(engines, AsyncEngine) else list(engines)
        self._shards = ShardMap(len(self._engines))
        self._master = master
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[DataKey | None, float]] = {}
        self._by_subject: dict[str, str] = {}

    async def keys(self, key_ids: Collection[str]) -> dict[str, DataKey | None]:
        """Each of `key_ids` -> its key, or None where it is destroyed."""
        now = self._clock()
        found: dict[str, DataKey | None] = {}
        wanted = []
        for key_id in key_ids:
            cached = self._cache.get(key_id)
            if cached is not None and cached[1] > now:
                found[key_id] = cached[0]
            else:
                wanted.append(key_id)
        if wanted:
            for entry in await self._fetch(wanted):
                expires = FOREVER if entry.key is None else now + self._ttl
                self._cache[entry.key_id] = (entry.key, expires)
                self._by_subject[entry.subject] = entry.key_id
                found[entry.key_id] = entry.key
            missing = set(wanted) - found.keys()
            if missing:
                raise MissingDataKeyError(f"no data key {sorted(missing)[0]} in data_keys")
        return found

    async def _fetch(self, key_ids: list[str]) -> list[data_keys.StoredKey]:
        """The stored keys among `key_ids`, each shard asked for its own."""
        by_shard: dict[int, list[str]] = {}
        for key_id in key_ids:
            by_shard.setdefault(self._shards.of(key_id), []).append(key_id)

        async def on(shard: int, ids: list[str]) -> list[data_keys.StoredKey]:
            async with self._engines[shard].connect() as conn:
                return await data_keys.fetch(conn, self._master, key_ids=ids)

        found = await asyncio.gather(*(on(s, ids) for s, ids in by_shard.items()))
        return [entry for stored in found for entry in stored]

    async def reveal_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        ids = sealed_key_ids(data)
        return reveal_fields(data, await self.keys(ids)) if ids else dict(data)

    async def reveal(self, envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
        """The envelopes with their personal fields opened (or erased), the keys of the
        whole batch looked up at once. Envelopes with nothing sealed are returned as is."""
        needs = {i: ids for i, e in enumerate(envelopes) if (ids := sealed_key_ids(e.data))}
        if not needs:
            return list(envelopes)
        keys = await self.keys(set().union(*needs.values()))
        return [
            e.model_copy(update={"data": reveal_fields(e.data, keys)}) if i in needs else e
            for i, e in enumerate(envelopes)
        ]

    def forget(self, subject: str) -> None:
        key_id = self._by_subject.pop(subject, None)
        if key_id is not None:
            self._cache.pop(key_id, None)
