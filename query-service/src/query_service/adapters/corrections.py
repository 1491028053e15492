"""Admin corrections of read-model documents (POST/DELETE /read-models).

A correction is temporary by design: the next event of the document's stream is applied
on top of it (fields that event sets win; a correction without `versions` is replaced by
the stream's history), and a rebuild replaces it entirely. It moves the projector's
revision counter (`_rev`) with a compare-and-set, so the projector sees the change and
re-reads instead of clobbering it."""

from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from cqrs_contracts.read_models import COLLECTIONS, ReadModel

REVISION = "_rev"


def _bson(value: Any) -> Any:
    if isinstance(value, Decimal):
        return Decimal128(value)
    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bson(v) for v in value]
    return value


class Corrections:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def put(self, doc: ReadModel) -> int:
        """Store `doc` (insert or replace); its new revision."""
        collection = self._db[COLLECTIONS[doc.NAME]]
        body = _bson(doc.model_dump(mode="python", exclude={"id"}))
        for _ in range(20):
            current = await collection.find_one({"_id": doc.id}, {REVISION: 1})
            if current is None:
                try:
                    await collection.insert_one({"_id": doc.id, **body, REVISION: 1})
                except DuplicateKeyError:
                    continue
                return 1
            revision = int(current.get(REVISION, 0))
            result = await collection.replace_one(
                {"_id": doc.id, REVISION: current.get(REVISION)}, {**body, REVISION: revision + 1}
            )
            if result.matched_count == 1:
                return revision + 1
        raise RuntimeError(f"{doc.NAME} {doc.id} kept changing; correction not applied")

    async def delete(self, read_model: str, doc_id: str) -> bool:
        result = await self._db[COLLECTIONS[read_model]].delete_one({"_id": doc_id})
        return result.deleted_count == 1
