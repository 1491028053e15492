"""Registered query handlers in the read store (collection `query_handlers`), each change
audited in `handler_audit`. (MySQL is the write side's; the query-service never sees it.)"""

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.handlers import HandlerAction, HandlerAuditEntry
from cqrs_http.handlers.store import HandlerRow, put_action

HANDLERS, AUDIT = "query_handlers", "handler_audit"
KIND = "query"


def _row(doc: dict[str, Any]) -> HandlerRow:
    return HandlerRow(
        name=str(doc["_id"]),
        declaration=doc.get("declaration"),
        enabled=bool(doc["enabled"]),
        built_in=bool(doc["built_in"]),
        updated_at=doc["updated_at"],
    )


class MongoHandlerStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._handlers = db[HANDLERS]
        self._audit = db[AUDIT]

    async def ensure_indexes(self) -> None:
        await self._audit.create_index([("kind", 1), ("name", 1), ("at", DESCENDING)])

    async def rows(self) -> list[HandlerRow]:
        return [_row(d) async for d in self._handlers.find({})]

    async def put(self, row: HandlerRow, actor: str | None) -> HandlerAction:
        """Insert or replace the row, audited as register, replace, enable or disable."""
        body = {
            "declaration": row.declaration,
            "enabled": row.enabled,
            "built_in": row.built_in,
            "updated_at": row.updated_at,
        }
        before = await self._handlers.find_one_and_replace(
            {"_id": row.name}, body, upsert=True, return_document=ReturnDocument.BEFORE
        )
        action = put_action(row, existed=before is not None)
        await self._record(row.name, action, actor, row.declaration)
        return action

    async def remove(self, name: str, actor: str | None) -> bool:
        """Delete a declared handler, audited as unregister; False if there was none."""
        result = await self._handlers.delete_one({"_id": name, "built_in": False})
        if result.deleted_count == 0:
            return False
        await self._record(name, HandlerAction.UNREGISTER, actor, None)
        return True

    async def _record(
        self, name: str, action: HandlerAction, actor: str | None, declaration: Any
    ) -> None:
        entry = HandlerAuditEntry(
            kind=KIND,
            name=name,
            action=action,
            actor=actor,
            at=datetime.now(UTC),
            declaration=declaration,
        )
        await self._audit.insert_one({**entry.model_dump(), "action": action.value})

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        where: dict[str, Any] = {"kind": KIND}
        if name is not None:
            where["name"] = name
        docs = self._audit.find(where).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [HandlerAuditEntry.model_validate(d) async for d in docs]
