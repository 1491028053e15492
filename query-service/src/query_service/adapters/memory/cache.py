"""The read-through cache in memory, with the Redis cache's generation compare-and-put:
a lookup answers the read model's generation, a put stores only while it has not moved,
and `invalidate` does what the projector's announcement does to the cache (drop the
document's key, bump the generation)."""

import json
from typing import Any


class InMemoryCache:
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self._generations: dict[str, int] = {}

    def doc_key(self, read_model: str, doc_id: str) -> str:
        return f"{read_model}:{doc_id}"

    def list_key(self, read_model: str, generation: str, params: dict[str, Any]) -> str:
        return f"{read_model}:list:{generation}:{json.dumps(params, sort_keys=True, default=str)}"

    def _generation(self, read_model: str) -> str:
        return str(self._generations.get(read_model, 0))

    async def document(self, read_model: str, doc_id: str) -> tuple[bytes | None, int, str]:
        raw = self.values.get(self.doc_key(read_model, doc_id))
        version = 0 if raw is None else json.loads(raw).get("versions", {}).get(doc_id, 0)
        return raw, version, self._generation(read_model)

    async def page(self, read_model: str, params: dict[str, Any]) -> tuple[bytes | None, str]:
        generation = self._generation(read_model)
        return self.values.get(self.list_key(read_model, generation, params)), generation

    async def put(self, key: str, value: bytes, read_model: str, generation: str) -> bool:
        if self._generation(read_model) != generation:
            return False
        self.values[key] = value
        return True

    def invalidate(self, read_model: str, doc_id: str) -> None:
        """A change of the document, as the projector announces it."""
        self.values.pop(self.doc_key(read_model, doc_id), None)
        self._generations[read_model] = self._generations.get(read_model, 0) + 1
