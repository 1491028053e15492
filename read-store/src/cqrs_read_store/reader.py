"""Reads of the read models: one document, or a keyset-paginated page.

Straight through pymongo into the contract models (the same validation and the same JSON
as the Beanie documents of documents.py): Beanie's query and document machinery cost
more CPU than the read itself on the query path."""

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.read_models import READ_MODELS, ReadModel
from cqrs_read_store.documents import COLLECTIONS


@dataclass(frozen=True)
class Page:
    items: list[ReadModel]
    has_more: bool


def _model(read_model: str, doc: dict[str, Any]) -> ReadModel:
    doc["id"] = doc.pop("_id")
    return READ_MODELS[read_model].model_validate(doc)


class ReadStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def get(self, read_model: str, doc_id: str) -> ReadModel | None:
        doc = await self._db[COLLECTIONS[read_model]].find_one({"_id": doc_id})
        return None if doc is None else _model(read_model, doc)

    async def page(
        self, read_model: str, where: dict[str, Any], sort: tuple[str, int], limit: int
    ) -> Page:
        field, raw_direction = sort
        direction = DESCENDING if raw_direction < 0 else ASCENDING
        keys = [(field, direction)] + ([("_id", direction)] if field != "_id" else [])
        docs = (
            await self._db[COLLECTIONS[read_model]]
            .find(where)
            .sort(keys)
            .limit(limit + 1)
            .to_list()
        )
        return Page([_model(read_model, d) for d in docs[:limit]], len(docs) > limit)

    async def count(self, read_model: str) -> int:
        return await self._db[COLLECTIONS[read_model]].count_documents({})
