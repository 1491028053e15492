"""The one writer of the read models: compare-and-set on a revision counter (`_rev`), so
that concurrent projector replicas (and an admin correction) never overwrite each other's
changes; batched bulk writes per read model; a rebuild's staging set of collections."""

import asyncio
from typing import Any

from pymongo import InsertOne, ReplaceOne, WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from cqrs_contracts.read_models import ReadModel
from cqrs_read_store.codec import CODECS
from cqrs_read_store.documents import COLLECTIONS, INDEXES

REVISION = "_rev"
# Journaled: a write the store acknowledged survives a kill -9 of the store. The consumer
# commits its Kafka offsets once the writes are acknowledged, so a write lost after that
# would never be made again (the reliability suite, tests/chaos, caught exactly this).
JOURNALED = WriteConcern(j=True)
DUPLICATE_KEY = 11000
LOAD_CHUNK = 50


class ConcurrentChangeError(Exception):
    """Another writer changed the document since it was read; read it again."""


class ViewStore:
    """One set of read-model collections: the live ones, or a rebuild's staging set
    (same names plus `suffix`)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], suffix: str = "") -> None:
        self._db = db
        self.suffix = suffix
        self._collections: dict[str, Any] = {}

    def collection_name(self, model: type[ReadModel]) -> str:
        return COLLECTIONS[model.NAME] + self.suffix

    def _collection(self, model: type[ReadModel]) -> Any:
        found = self._collections.get(model.NAME)
        if found is None:
            found = self._collections[model.NAME] = self._db.get_collection(
                self.collection_name(model), codec_options=CODECS, write_concern=JOURNALED
            )
        return found

    async def ensure_indexes(self) -> None:
        for name, indexes in INDEXES.items():
            await self._db[COLLECTIONS[name] + self.suffix].create_indexes(indexes)

    async def load(self, model: type[ReadModel], doc_id: str) -> tuple[ReadModel | None, int]:
        """The document and its revision (0 when it does not exist)."""
        raw = await self._collection(model).find_one({"_id": doc_id})
        if raw is None:
            return None, 0
        revision = int(raw.pop(REVISION, 0))
        raw["id"] = raw.pop("_id")
        return model.model_validate(raw), revision

    async def load_many(
        self, model: type[ReadModel], doc_ids: list[str]
    ) -> dict[str, tuple[ReadModel, int]]:
        """In queries of LOAD_CHUNK ids, all at once: the read store matches each found
        document against every id of an `$in`, so one query of n ids costs n*n (1000
        ids: ten times the work of twenty queries of 50)."""
        chunks = [doc_ids[i : i + LOAD_CHUNK] for i in range(0, len(doc_ids), LOAD_CHUNK)]
        found: dict[str, tuple[ReadModel, int]] = {}
        for raws in await asyncio.gather(*(self._find(model, chunk) for chunk in chunks)):
            for raw in raws:
                revision = int(raw.pop(REVISION, 0))
                raw["id"] = raw.pop("_id")
                found[raw["id"]] = (model.model_validate(raw), revision)
        return found

    async def _find(self, model: type[ReadModel], doc_ids: list[str]) -> list[dict[str, Any]]:
        return [raw async for raw in self._collection(model).find({"_id": {"$in": doc_ids}})]

    async def save_many(self, writes: list[tuple[ReadModel, int]]) -> set[str]:
        by_model: dict[type[ReadModel], list[InsertOne[Any] | ReplaceOne[Any]]] = {}
        for doc, revision in writes:
            body = _body(doc, revision)
            op: InsertOne[Any] | ReplaceOne[Any] = (
                InsertOne({"_id": doc.id, **body})
                if revision == 0
                else ReplaceOne({"_id": doc.id, REVISION: revision}, body)
            )
            by_model.setdefault(type(doc), []).append(op)
        stored = await asyncio.gather(
            *(self._bulk_write(model, ops) for model, ops in by_model.items())
        )  # every read model at once: they are independent documents
        return {model.NAME for model, ok in zip(by_model, stored, strict=True) if not ok}

    async def _bulk_write(
        self, model: type[ReadModel], ops: list[InsertOne[Any] | ReplaceOne[Any]]
    ) -> bool:
        """One bulk write; False when some document was not (or may not have been) stored."""
        try:
            result = await self._collection(model).bulk_write(ops, ordered=False)
            stored = result.inserted_count + result.matched_count
        except BulkWriteError as failed:
            details = failed.details
            if any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])):
                raise
            stored = int(details.get("nInserted", 0)) + int(details.get("nMatched", 0))
        return bool(stored == len(ops))

    async def save(self, doc: ReadModel, revision: int) -> int:
        """Store `doc` if it is still at `revision`; the new revision."""
        body = _body(doc, revision)
        collection = self._collection(type(doc))
        if revision == 0:
            try:
                await collection.insert_one({"_id": doc.id, **body})
            except DuplicateKeyError as clash:
                raise ConcurrentChangeError(doc.id) from clash
        else:
            result = await collection.replace_one({"_id": doc.id, REVISION: revision}, body)
            if result.matched_count != 1:
                raise ConcurrentChangeError(doc.id)
        return revision + 1

    async def delete(self, model: type[ReadModel], doc_id: str) -> bool:
        """Remove the document; whether there was one."""
        result = await self._collection(model).delete_one({"_id": doc_id})
        return bool(result.deleted_count == 1)

    async def all_ids(self, model: type[ReadModel]) -> list[str]:
        return [str(d["_id"]) async for d in self._collection(model).find({}, {"_id": 1})]

    async def drop_all(self) -> None:
        for name in COLLECTIONS.values():
            await self._db.drop_collection(name + self.suffix)


def _body(doc: ReadModel, revision: int) -> dict[str, Any]:
    body = doc.model_dump(mode="python", exclude={"id"})
    body[REVISION] = revision + 1
    return body
