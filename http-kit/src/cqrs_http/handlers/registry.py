"""The handler types a replica accepts: built-in ones (unless disabled) and declared
ones, re-read from the handler store every REFRESH_SECONDS, so every replica follows a
change within a second, and at once on the replica that made it.

One registry for every kind: a service gives its built-in names, its declaration type
and a compile hook that turns the declarations and the disabled built-ins into what it
runs (`CommandService.use`, `QueryService.use`)."""

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import ValidationError

from cqrs_contracts.handlers import Declaration, HandlerAction, HandlerAuditEntry, HandlerInfo
from cqrs_http.handlers.store import HandlerRow, HandlerStore

REFRESH_SECONDS = 0.5
log = logging.getLogger("cqrs_http.handlers")

D = TypeVar("D", bound=Declaration)
# declared types by name, disabled built-in names -> the service switches to them
Compile = Callable[[dict[str, D], frozenset[str]], None]


class UnknownHandlerError(LookupError):
    """No built-in or declared handler type has this name."""


@dataclass
class HandlerRegistry(Generic[D]):
    kind: str  # command, query: names it in logs
    store: HandlerStore
    declaration: type[D]  # how a stored declaration is read back
    built_in: Collection[str]  # in listing order
    compile: Compile[D]
    rows: dict[str, HandlerRow] = field(default_factory=dict)
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        # one at a time: a poll that read before a change must not land after it
        async with self._refreshing:
            self._use({r.name: r for r in await self.store.rows()})

    def _use(self, rows: dict[str, HandlerRow]) -> None:
        if rows == self.rows:
            return
        declared: dict[str, D] = {}
        for row in rows.values():
            if row.name in self.built_in or row.declaration is None:
                continue
            try:
                declared[row.name] = self.declaration.model_validate(row.declaration)
            except ValidationError:
                log.warning("stored declaration of %s is unreadable; skipped", row.name)
        disabled = {r.name for r in rows.values() if r.name in self.built_in and not r.enabled}
        self.compile(declared, frozenset(disabled))
        self.rows = rows

    async def run(self) -> None:
        """Refresh forever (a background task of the app)."""
        while True:
            refreshing = asyncio.ensure_future(self.refresh())
            try:
                await asyncio.shield(refreshing)
            except asyncio.CancelledError:
                # let a read in flight end, so its connection goes back to the pool
                await asyncio.gather(refreshing, return_exceptions=True)
                raise
            except Exception:
                log.warning("refreshing the %s handlers failed", self.kind, exc_info=True)
            await asyncio.sleep(REFRESH_SECONDS)

    def listing(self) -> list[HandlerInfo]:
        built_in = [self._built_in(name) for name in self.built_in]
        declared = [
            HandlerInfo(
                name=r.name,
                built_in=False,
                enabled=r.enabled,
                declaration=r.declaration,
                updated_at=r.updated_at,
            )
            for r in sorted(self.rows.values(), key=lambda r: r.name)
            if r.name not in self.built_in
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

    async def register(self, decl: D, actor: str | None) -> HandlerAction:
        row = HandlerRow(
            name=decl.name,
            declaration=decl.model_dump(mode="json", by_alias=True, exclude_none=True),
            enabled=True,
            built_in=False,
            updated_at=datetime.now(UTC),
        )
        action = await self.store.put(row, actor)
        await self.refresh()
        return action

    async def remove(self, name: str, actor: str | None) -> HandlerAction:
        """Unregister a declared type; disable a built-in one."""
        if name in self.built_in:
            action = await self.store.put(self._switch(name, enabled=False), actor)
        elif await self.store.remove(name, actor):
            action = HandlerAction.UNREGISTER
        else:
            raise UnknownHandlerError(name)
        await self.refresh()
        return action

    async def enable(self, name: str, actor: str | None) -> HandlerInfo:
        """Re-enable a built-in type (a declared one is enabled while registered)."""
        if name in self.built_in:
            await self.store.put(self._switch(name, enabled=True), actor)
        await self.refresh()
        return self.info(name)

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        return await self.store.audit(name, limit)

    @staticmethod
    def _switch(name: str, *, enabled: bool) -> HandlerRow:
        return HandlerRow(name, None, enabled, built_in=True, updated_at=datetime.now(UTC))
