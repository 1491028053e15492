"""Read models in memory: documents kept as the projector stores them (an "_id", Decimal
amounts, UTC datetimes to the millisecond), filtered and sorted as the read store does
(matcher.py), read back as the contract models."""

from dataclasses import dataclass
from typing import Any

from cqrs_contracts.read_models import READ_MODELS, ReadModel
from query_service.adapters.memory.matcher import as_stored, matches, sort_key


@dataclass(frozen=True)
class FoundPage:
    items: list[ReadModel]
    has_more: bool


def _model(read_model: str, doc: dict[str, Any]) -> ReadModel:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return READ_MODELS[read_model].model_validate({"id": doc["_id"], **fields})


class InMemoryReadModels:
    def __init__(self) -> None:
        self._docs: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in READ_MODELS}

    def put(self, doc: ReadModel) -> None:
        """Store (or replace) `doc` in its read model, as the projector would."""
        body = as_stored(doc.model_dump(mode="python", exclude={"id"}))
        self._docs[doc.NAME][doc.id] = {"_id": doc.id, **body}

    def remove(self, read_model: str, doc_id: str) -> None:
        self._docs[read_model].pop(doc_id, None)

    async def get(self, read_model: str, doc_id: str) -> ReadModel | None:
        doc = self._docs[read_model].get(doc_id)
        return None if doc is None else _model(read_model, doc)

    async def page(
        self, read_model: str, where: dict[str, Any], sort: tuple[str, int], limit: int
    ) -> FoundPage:
        field, direction = sort
        found = [d for d in self._docs[read_model].values() if matches(d, where)]
        found.sort(key=lambda d: sort_key(d, field), reverse=direction < 0)
        return FoundPage([_model(read_model, d) for d in found[:limit]], len(found) > limit)

    async def count(self, read_model: str) -> int:
        return len(self._docs[read_model])
