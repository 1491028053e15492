"""The query log: who asked what, when, how long it took, cache or store, the outcome.
Kept in the read store; retention trims it to `cqrs.max_queries` entries."""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "query_log"


class QueryLog:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], max_entries: int) -> None:
        self._log = db[COLLECTION]
        self._max = max_entries

    async def ensure_indexes(self) -> None:
        await self._log.create_index([("at", DESCENDING)])
        await self._log.create_index([("type", 1), ("at", DESCENDING)])

    async def record(self, entry: dict[str, Any]) -> None:
        await self._log.insert_one({"_id": entry["query_id"], **entry})

    async def get(self, query_id: str) -> dict[str, Any] | None:
        doc = await self._log.find_one({"_id": query_id}, {"_id": 0})
        return _json(doc) if doc else None

    async def page(
        self, type_: str | None, since: datetime | None, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `before` is the last query_id of the previous page."""
        where: dict[str, Any] = {}
        if type_:
            where["type"] = type_
        if since:
            where["at"] = {"$gte": since}
        if before:
            last = await self._log.find_one({"_id": before}, {"at": 1})
            if last is not None:
                where["$or"] = [
                    {"at": {"$lt": last["at"]}},
                    {"at": last["at"], "_id": {"$lt": before}},
                ]
        rows = (
            await self._log.find(where, {"_id": 0})
            .sort([("at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        items = [_json(r) for r in rows[:limit]]
        return items, items[-1]["query_id"] if len(rows) > limit else None

    async def trim(self) -> int:
        """Keep the newest `max_entries`; the number removed."""
        oldest_kept = (
            await self._log.find({}, {"at": 1})
            .sort("at", DESCENDING)
            .skip(self._max - 1)
            .limit(1)
            .to_list()
        )
        if not oldest_kept:
            return 0
        result = await self._log.delete_many({"at": {"$lt": oldest_kept[0]["at"]}})
        return int(result.deleted_count)


def _json(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}
