"""Registered command handlers in MySQL, each change audited in the same transaction."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cqrs_contracts.handlers import HandlerAction, HandlerAuditEntry
from cqrs_event_store import tables as t
from cqrs_event_store.timestamps import naive_utc, utc
from cqrs_http.handlers.store import HandlerRow, put_action

KIND = "command"


def _row(raw: Any) -> HandlerRow:
    return HandlerRow(
        name=raw.name,
        declaration=raw.declaration,
        enabled=bool(raw.enabled),
        built_in=bool(raw.built_in),
        updated_at=utc(raw.updated_at),
    )


async def _audit(
    conn: AsyncConnection,
    name: str,
    action: HandlerAction,
    actor: str | None,
    declaration: dict[str, Any] | None,
) -> None:
    await conn.execute(
        insert(t.handler_audit).values(
            kind=KIND,
            name=name,
            action=action.value,
            actor=actor,
            declaration=declaration,
            at=naive_utc(datetime.now(UTC)),
        )
    )


class SqlHandlerStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rows(self) -> list[HandlerRow]:
        async with self._engine.connect() as conn:
            result = await conn.execute(select(t.command_handlers))
            return [_row(r) for r in result]

    async def put(self, row: HandlerRow, actor: str | None) -> HandlerAction:
        handlers = t.command_handlers
        async with self._engine.begin() as conn:
            existing = await conn.scalar(
                select(handlers.c.name).where(handlers.c.name == row.name).with_for_update()
            )
            action = put_action(row, existed=existing is not None)
            values = {
                "name": row.name,
                "declaration": row.declaration,
                "enabled": row.enabled,
                "built_in": row.built_in,
                "updated_at": naive_utc(row.updated_at),
            }
            upsert = mysql_insert(handlers).values(**values)
            await conn.execute(
                upsert.on_duplicate_key_update(
                    {k: upsert.inserted[k] for k in values if k != "name"}
                )
            )
            await _audit(conn, row.name, action, actor, row.declaration)
        return action

    async def remove(self, name: str, actor: str | None) -> bool:
        handlers = t.command_handlers
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(handlers).where(handlers.c.name == name, handlers.c.built_in.is_(False))
            )
            if result.rowcount == 0:
                return False
            await _audit(conn, name, HandlerAction.UNREGISTER, actor, None)
        return True

    async def audit(self, name: str | None, limit: int) -> list[HandlerAuditEntry]:
        audit = t.handler_audit
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(audit.c.name == name)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            HandlerAuditEntry(
                kind=r.kind,
                name=r.name,
                action=HandlerAction(r.action),
                actor=r.actor,
                at=utc(r.at),
                declaration=r.declaration,
            )
            for r in rows
        ]
