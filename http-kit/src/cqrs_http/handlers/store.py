"""The handler store port: where a service's registered handlers live, every change
audited with it. One row format for every kind (command, query)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cqrs_contracts.handlers import HandlerAction, HandlerAuditEntry


@dataclass(frozen=True)
class HandlerRow:
    """A stored handler: a declared one, or a built-in one's enabled flag."""

    name: str
    declaration: dict[str, Any] | None  # None for a built-in one
    enabled: bool
    built_in: bool
    updated_at: datetime


class HandlerStore(Protocol):
    """Where the registered handlers of one kind live; every change is audited with it."""

    async def rows(self) -> list[HandlerRow]: ...

    async def put(self, row: HandlerRow, actor: str | None) -> HandlerAction:
        """Insert or replace the row, audited as register, replace, enable or disable."""

    async def remove(self, name: str, actor: str | None) -> bool:
        """Delete a declared handler's row, audited as unregister; False if there was none
        (a built-in one's row is never removed)."""

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        """The newest audit entries first (of one handler when `name` is given)."""


def put_action(row: HandlerRow, *, existed: bool) -> HandlerAction:
    """How `HandlerStore.put` audits `row`: a built-in one's flag is an enable or a
    disable; a declaration registers a new name or replaces the one stored."""
    if row.built_in:
        return HandlerAction.ENABLE if row.enabled else HandlerAction.DISABLE
    return HandlerAction.REPLACE if existed else HandlerAction.REGISTER
