"""Retention of the command side's logs, on every shard of the event store (each keeps
its newest `max_commands`). The event store itself is never truncated."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store import tables as t
from cqrs_event_store.timestamps import naive_utc


class Retention:
    def __init__(self, engines: Sequence[AsyncEngine], max_commands: int) -> None:
        self._engines = engines
        self._max_commands = max_commands

    async def run(self) -> dict[str, Any]:
        """Trim each shard's command log to its newest `max_commands` and drop expired
        idempotency keys; what was removed, over all shards."""
        removed: Counter[str] = Counter()
        for engine in self._engines:
            removed.update(await self._run_on(engine))
        return {
            "command_log_removed": removed["commands"],
            "idempotency_keys_removed": removed["keys"],
            "events_removed": 0,  # the event store is the source of truth: never truncated
        }

    async def _run_on(self, engine: AsyncEngine) -> dict[str, int]:
        log = t.command_log.c
        async with engine.begin() as conn:
            cutoff = (
                await conn.execute(
                    select(log.received_at)
                    .order_by(log.received_at.desc())
                    .offset(self._max_commands)
                    .limit(1)
                )
            ).scalar()
            commands = 0
            if cutoff is not None:
                result = await conn.execute(delete(t.command_log).where(log.received_at <= cutoff))
                commands = result.rowcount or 0
            keys = await conn.execute(
                delete(t.idempotency_keys).where(
                    t.idempotency_keys.c.expires_at <= naive_utc(datetime.now(UTC))
                )
            )
        return {"commands": commands, "keys": keys.rowcount or 0}


async def command_stats(engines: Sequence[AsyncEngine]) -> dict[str, Any]:
    """Commands by type and status, events by type, the outbox backlog: over all shards."""
    commands: dict[str, dict[str, int]] = {}
    events: Counter[str] = Counter()
    backlog = 0
    for engine in engines:
        one = await _stats_of(engine)
        for type_, statuses in one["commands"].items():
            for status, count in statuses.items():
                commands.setdefault(type_, {}).setdefault(status, 0)
                commands[type_][status] += count
        events.update(one["events"])
        backlog += one["outbox_backlog"]
    return {"commands": commands, "events": dict(events), "outbox_backlog": backlog}


async def _stats_of(engine: AsyncEngine) -> dict[str, Any]:
    log, ev = t.command_log.c, t.events.c
    async with engine.connect() as conn:
        by_type_status = (
            await conn.execute(
                select(log.type, log.status, func.count()).group_by(log.type, log.status)
            )
        ).all()
        events = (await conn.execute(select(ev.type, func.count()).group_by(ev.type))).all()
        backlog = int(await conn.scalar(select(func.count()).select_from(t.outbox)) or 0)
    commands: dict[str, dict[str, int]] = {}
    for type_, status, count in by_type_status:
        commands.setdefault(type_, {})[status] = int(count)
    return {
        "commands": commands,
        "events": {type_: int(count) for type_, count in events},
        "outbox_backlog": backlog,
    }
