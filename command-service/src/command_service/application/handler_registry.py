"""The command types this replica accepts: built-in ones (unless disabled) and declared
ones, re-read from the handler store every REFRESH_SECONDS, so every replica follows a
change within a second, and at once on the replica that made it."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from command_service.application.command_handlers import BUILT_IN, CommandSpec
from command_service.application.declared_commands import declared_spec
from command_service.application.ports import HandlerRow, HandlerStore
from command_service.application.service import CommandService
from cqrs_contracts.handlers import (
    CommandDeclaration,
    HandlerAction,
    HandlerAuditEntry,
    HandlerInfo,
)

REFRESH_SECONDS = 0.5
log = logging.getLogger("command_service.handlers")


class UnknownHandlerError(LookupError):
    """No built-in or declared command type has this name."""


@dataclass
class CommandRegistry:
    store: HandlerStore
    service: CommandService
    rows: dict[str, HandlerRow] = field(default_factory=dict)
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        # one at a time: a poll that read before a change must not land after it
        async with self._refreshing:
            self._use({r.name: r for r in await self.store.rows()})

    def _use(self, rows: dict[str, HandlerRow]) -> None:
        if rows == self.rows:
            return
        commands: dict[str, CommandSpec] = dict(BUILT_IN)
        disabled = {r.name for r in rows.values() if r.name in BUILT_IN and not r.enabled}
        for row in rows.values():
            if row.name in BUILT_IN or row.declaration is None:
                continue
            try:
                commands[row.name] = declared_spec(
                    CommandDeclaration.model_validate(row.declaration)
                )
            except ValidationError:
                log.warning("stored declaration of %s is unreadable; skipped", row.name)
        for name in disabled:
            commands.pop(name)
        self.service.use(commands, frozenset(disabled))
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
                log.warning("refreshing the command handlers failed", exc_info=True)
            await asyncio.sleep(REFRESH_SECONDS)

    def listing(self) -> list[HandlerInfo]:
        built_in = [self._built_in(name) for name in BUILT_IN]
        declared = [
            HandlerInfo(
                name=r.name,
                built_in=False,
                enabled=r.enabled,
                declaration=r.declaration,
                updated_at=r.updated_at,
            )
            for r in sorted(self.rows.values(), key=lambda r: r.name)
            if r.name not in BUILT_IN
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

    async def register(self, decl: CommandDeclaration, actor: str | None) -> HandlerAction:
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
        """Unregister a declared command type; disable a built-in one."""
        if name in BUILT_IN:
            action = await self.store.put(self._switch(name, enabled=False), actor)
        elif await self.store.remove(name, actor):
            action = HandlerAction.UNREGISTER
        else:
            raise UnknownHandlerError(name)
        await self.refresh()
        return action

    async def enable(self, name: str, actor: str | None) -> HandlerInfo:
        """Re-enable a built-in command type (a declared one is enabled while registered)."""
        if name in BUILT_IN:
            await self.store.put(self._switch(name, enabled=True), actor)
        await self.refresh()
        return self.info(name)

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        return await self.store.audit(name, limit)

    @staticmethod
    def _switch(name: str, *, enabled: bool) -> HandlerRow:
        return HandlerRow(name, None, enabled, built_in=True, updated_at=datetime.now(UTC))
