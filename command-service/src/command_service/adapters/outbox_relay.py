"""The outbox relay: moves committed outbox rows to Kafka, then deletes them.

- Woken right after a commit (`wake()`), with a polling fallback. Passes start at least
  `linger` apart: a pass costs the same round trips (SELECT, publish, DELETE, COMMIT) for
  one row or a batch, so under a steady stream of commits rows gather instead of leaving
  one per pass; a wake after a quiet spell is served at once.
- Several relays may run: the outbox is split into shards and each shard is owned by
  one relay at a time through a MySQL named lock (GET_LOCK) held on a dedicated
  connection; a relay that dies loses its locks and another takes its shards over.
  Unowned shards are probed (and the lock connection checked) in one query at most once
  per CLAIM_SECONDS, not on every wake. Rows are still taken FOR UPDATE SKIP LOCKED, so no
  row is ever sent by two relays at once, and one stream's events (one shard) leave in
  outbox order.
- One pass over the owned shards costs one SELECT, one DELETE and one COMMIT on a
  connection the relay keeps (its isolation level set once).
- At-least-once: a crash after publishing and before the delete commits sends those
  rows again on restart; consumers deduplicate by (stream id, version).
"""

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command_service.adapters.kafka_publisher import OutboxMessage
from command_service.adapters.metrics import RELAY_PUBLISHED
from command_service.adapters.outbox_rows import OUTBOX_SHARDS
from cqrs_event_store import tables as t

log = logging.getLogger("command_service.relay")
LINGER_SECONDS = 0.01
CLAIM_SECONDS = 1.0  # how often unowned shards are probed and the lock connection checked
# built once: compiled once (an `in_` of literal ids would be a new statement each pass)
DELETE_SENT = delete(t.outbox).where(t.outbox.c.id.in_(bindparam("ids", expanding=True)))


class Publisher(Protocol):
    async def publish_all(self, messages: list[OutboxMessage]) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        linger: float = LINGER_SECONDS,
    ) -> None:
        # READ COMMITTED: the batch's row locks only, no gap locks, so commands keep
        # inserting outbox rows while a batch is on its way to Kafka
        self._engine = engine.execution_options(isolation_level="READ COMMITTED")
        # named locks are not transactional: no COMMIT round trip after each probe
        self._lock_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._linger = linger
        self._wake = asyncio.Event()
        self._lock_conn: AsyncConnection | None = None
        self._conn: AsyncConnection | None = None  # the batches' connection
        self._owned: set[int] = set()
        self._claimed_at = -float("inf")
        self._query: Select[Any] | None = None
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    @property
    def owned_shards(self) -> frozenset[int]:
        return frozenset(self._owned)

    async def run(self) -> None:
        """Relay until cancelled; errors are logged and retried after a pause."""
        started = time.monotonic()
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
                # passes start at least `linger` apart: commits landing meanwhile join
                # the next one (a pass costs the same round trips for 1 row or 500)
                pause = started + self._linger - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._wake.clear()
                started = time.monotonic()
        finally:
            await self._release_shards()

    async def drain_once(self) -> int:
        """Publish and delete one batch from the owned shards; the number sent."""
        if not self._owned:
            return 0
        if self._conn is None:
            self._conn = await self._engine.connect()
        conn = self._conn
        async with conn.begin():
            rows = (await conn.execute(self._batch_query())).all()
            if not rows:
                return 0
            messages = [
                OutboxMessage(r.id, r.topic, r.message_key, r.payload, r.headers) for r in rows
            ]
            await self._publisher.publish_all(messages)
            await conn.execute(DELETE_SENT, {"ids": [r.id for r in rows]})
        self.published += len(messages)
        RELAY_PUBLISHED.inc(len(messages))
        return len(messages)

    def _batch_query(self) -> Select[Any]:
        if self._query is not None:
            return self._query
        o = t.outbox.c
        query: Select[Any] = select(o.id, o.topic, o.message_key, o.payload, o.headers)
        if len(self._owned) < OUTBOX_SHARDS:  # all of them: no filter, the id order
            query = query.where(o.shard.in_(sorted(self._owned)))
        self._query = query.order_by(o.id).limit(self._batch_size).with_for_update(skip_locked=True)
        return self._query

    async def _claim_shards(self) -> None:
        """Probe the shards not owned (all in one query) and prove the lock connection
        alive, at most once per CLAIM_SECONDS."""
        now = time.monotonic()
        if self._lock_conn is not None and now - self._claimed_at < CLAIM_SECONDS:
            return
        if self._lock_conn is None:
            self._lock_conn = await self._lock_engine.connect()
            self._owned = set()
        db = self._engine.url.database
        free = [s for s in range(OUTBOX_SHARDS) if s not in self._owned]
        probes = ", ".join(f"GET_LOCK(:s{s}, 0)" for s in free) or "1"
        names = {f"s{s}": f"{db}.outbox.{s}" for s in free}
        got = (await self._lock_conn.execute(text(f"SELECT {probes}"), names)).one()
        won = {s for s, g in zip(free, got, strict=False) if g == 1}
        if won:
            self._owned |= won
            self._query = None
        self._claimed_at = now

    async def _release_shards(self) -> None:
        conns = (self._conn, self._lock_conn)
        self._conn, self._lock_conn, self._owned, self._query = None, None, set(), None
        batches, locks = conns
        if batches is not None:
            with contextlib.suppress(Exception):
                await batches.close()
        if locks is not None:
            with contextlib.suppress(Exception):
                await locks.execute(text("SELECT RELEASE_ALL_LOCKS()"))
            with contextlib.suppress(Exception):
                await locks.close()


async def outbox_backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(text("COUNT(*)")).select_from(t.outbox)) or 0)
