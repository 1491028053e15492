"""The query types this replica answers: built-in ones (unless disabled) and declared
ones, re-read from the read store every REFRESH_SECONDS, so every replica follows a
change within a second, and at once on the replica that made it."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from cqrs_contracts.handlers import (
    HandlerAction,
    HandlerAuditEntry,
    HandlerInfo,
    QueryDeclaration,
)
from cqrs_contracts.queries import QUERY_TYPES
from query_service.adapters.handler_store import HandlerRow, MongoHandlerStore
from query_service.queries.service import QueryService

REFRESH_SECONDS = 0.5
log = logging.getLogger("query_service.handlers")


class UnknownHandlerError(LookupError):
    """No built-in or declared query type has this name."""


@dataclass
class QueryRegistry:
    store: MongoHandlerStore
    service: QueryService
    rows: dict[str, HandlerRow] = field(default_factory=dict)
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        # one at a time: a poll that read before a change must not land after it
        async with self._refreshing:
            self._use({r.name: r for r in await self.store.rows()})

    def _use(self, rows: dict[str, HandlerRow]) -> None:
        if rows == self.rows:
            return
        declared: dict[str, QueryDeclaration] = {}
        for row in rows.values():
            if row.name in QUERY_TYPES or row.declaration is None:
                continue
            try:
                declared[row.name] = QueryDeclaration.model_validate(row.declaration)
            except ValidationError:
                log.warning("stored declaration of %s is unreadable; skipped", row.name)
        disabled = {r.name for r in rows.values() if r.name in QUERY_TYPES and not r.enabled}
        self.service.use(declared, frozenset(disabled))
        self.rows = rows

    async def run(self) -> None:
        """Refresh forever (a background task of the app)."""
        while True:
            refreshing = asyncio.ensure_future(self.refresh())
            try:
                await asyncio.shield(refreshing)
            except asyncio.CancelledError:
                await asyncio.gather(refreshing, return_exceptions=True)
                raise
            except Exception:
                log.warning("refreshing the query handlers failed", exc_info=True)
            await asyncio.sleep(REFRESH_SECONDS)

    def listing(self) -> list[HandlerInfo]:
        built_in = [self._built_in(name) for name in QUERY_TYPES]
        declared = [
            HandlerInfo(
                name=r.name,
                built_in=False,
                enabled=r.enabled,
                declaration=r.declaration,
                updated_at=r.updated_at,
            )
            for r in sorted(self.rows.values(), key=lambda r: r.name)
            if r.name not in QUERY_TYPES
        ]
        return built_in + declared

    def info(self, name: str) -> HandlerInfo:
        found = next((h for h in self.listing() if h.name == name), None)
        if found is None:
            raise UnknownHandlerError(name)
        return found

    def _built_in(self, name: str) -> HandlerInfo:
        row = self.rows.get(name)
        if row is None:
            return HandlerInfo(name=name, built_in=True, enabled=True)
        return HandlerInfo(name=name, built_in=True, enabled=row.enabled, updated_at=row.updated_at)

    async def register(self, decl: QueryDeclaration, actor: str | None) -> HandlerAction:
        row = HandlerRow(
            name=decl.name,
            declaration=decl.model_dump(mode="json", exclude_none=True),
            enabled=True,
            built_in=False,
            updated_at=datetime.now(UTC),
        )
        action = await self.store.put(row, actor)
        await self.refresh()
        return action

    async def remove(self, name: str, actor: str | None) -> HandlerAction:
        """Unregister a declared query type; disable a built-in one."""
        if name in QUERY_TYPES:
            action = await self.store.put(self._switch(name, enabled=False), actor)
        elif await self.store.remove(name, actor):
            action = HandlerAction.UNREGISTER
        else:
            raise UnknownHandlerError(name)
        await self.refresh()
        return action

    async def enable(self, name: str, actor: str | None) -> HandlerInfo:
        """Re-enable a built-in query type (a declared one is enabled while registered)."""
        if name in QUERY_TYPES:
            await self.store.put(self._switch(name, enabled=True), actor)
        await self.refresh()
        return self.info(name)

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        return await self.store.audit(name, limit)

    @staticmethod
    def _switch(name: str, *, enabled: bool) -> HandlerRow:
        return HandlerRow(name, None, enabled, built_in=True, updated_at=datetime.now(UTC))
