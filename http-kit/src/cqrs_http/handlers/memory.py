"""A handler store in memory: for one process (unit tests, a single replica without a
database); it passes the same contract tests as the stored ones."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from cqrs_contracts.handlers import HandlerAction, HandlerAuditEntry
from cqrs_http.handlers.store import HandlerRow, put_action


@dataclass
class InMemoryHandlerStore:
    kind: str  # what its audit entries name: command, query
    handlers: dict[str, HandlerRow] = field(default_factory=dict)
    entries: list[HandlerAuditEntry] = field(default_factory=list)  # oldest first

    async def rows(self) -> list[HandlerRow]:
        return list(self.handlers.values())

    async def put(self, row: HandlerRow, actor: str | None) -> HandlerAction:
        action = put_action(row, existed=row.name in self.handlers)
        self.handlers[row.name] = row
        self._record(row.name, action, actor, row)
        return action

    async def remove(self, name: str, actor: str | None) -> bool:
        row = self.handlers.get(name)
        if row is None or row.built_in:
            return False
        del self.handlers[name]
        self._record(name, HandlerAction.UNREGISTER, actor, None)
        return True

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        newest = (e for e in reversed(self.entries) if name is None or e.name == name)
        return list(islice(newest, limit))

    def _record(
        self, name: str, action: HandlerAction, actor: str | None, row: HandlerRow | None
    ) -> None:
        self.entries.append(
            HandlerAuditEntry(
                kind=self.kind,
                name=name,
                action=action,
                actor=actor,
                at=datetime.now(UTC),
                declaration=None if row is None else row.declaration,
            )
        )
