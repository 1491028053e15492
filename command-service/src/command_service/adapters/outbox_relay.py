"""The outbox relay: moves committed outbox rows to Kafka, then deletes them.

- Woken right after a commit (`wake()`), with a polling fallback.
- Several relays may run: the outbox is split into shards and each shard is owned by
  one relay at a time through a MySQL named lock (GET_LOCK) held on a dedicated
  connection; a relay that dies loses its locks and another takes its shards over.
  Rows are still taken FOR UPDATE SKIP LOCKED, so no row is ever sent by two relays at
  once, and one stream's events (one shard) leave in outbox order.
- At-least-once: a crash after publishing and before the delete commits sends those
  rows again on restart; consumers deduplicate by (stream id, version).
"""

import asyncio
import contextlib
import logging
from typing import Protocol

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command_service.adapters import tables as t
from command_service.adapters.kafka_publisher import OutboxMessage
from command_service.adapters.outbox_rows import OUTBOX_SHARDS

log = logging.getLogger("command_service.relay")
GATHER_SECONDS = 0.002


class Publisher(Protocol):
    async def publish_all(self, messages: list[OutboxMessage]) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        batch_size: int = 500,
        poll_interval: float = 0.5,
    ) -> None:
        # READ COMMITTED: the batch's row locks only, no gap locks, so commands keep
        # inserting outbox rows while a batch is on its way to Kafka
        self._engine = engine.execution_options(isolation_level="READ COMMITTED")
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._lock_conn: AsyncConnection | None = None
        self._owned: set[int] = set()
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    @property
    def owned_shards(self) -> frozenset[int]:
        return frozenset(self._owned)

    async def run(self) -> None:
        """Relay until cancelled; errors are logged and retried after a pause."""
        try:
            while True:
                try:
                    await self._claim_shards()
                    while await self.drain_once() == self._batch_size:
                        pass
                except Exception:
                    log.exception("outbox relay pass failed; retrying")
                    await self._release_shards()
                    await asyncio.sleep(1.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                await asyncio.sleep(GATHER_SECONDS)  # let concurrent commits join this batch
                self._wake.clear()
        finally:
            await self._release_shards()

    async def drain_once(self) -> int:
        """Publish and delete one batch from the owned shards; the number sent."""
        if not self._owned:
            return 0
        o = t.outbox.c
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(o.id, o.topic, o.message_key, o.payload, o.headers)
                    .where(o.shard.in_(sorted(self._owned)))
                    .order_by(o.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            messages = [
                OutboxMessage(r.id, r.topic, r.message_key, r.payload, r.headers) for r in rows
            ]
            await self._publisher.publish_all(messages)
            await conn.execute(delete(t.outbox).where(o.id.in_([m.outbox_id for m in messages])))
        self.published += len(messages)
        return len(messages)

    async def _claim_shards(self) -> None:
        if self._lock_conn is None:
            self._lock_conn = await self._engine.connect()
            self._owned = set()
        db = self._engine.url.database
        for shard in range(OUTBOX_SHARDS):
            if shard in self._owned:
                continue
            got = await self._lock_conn.scalar(
                text("SELECT GET_LOCK(:name, 0)"), {"name": f"{db}.outbox.{shard}"}
            )
            if got == 1:
                self._owned.add(shard)
        await self._lock_conn.commit()

    async def _release_shards(self) -> None:
        conn, self._lock_conn, self._owned = self._lock_conn, None, set()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT RELEASE_ALL_LOCKS()"))
            with contextlib.suppress(Exception):
                await conn.close()


async def outbox_backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(text("COUNT(*)")).select_from(t.outbox)) or 0)
