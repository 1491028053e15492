"""The query log: who asked what, when, how long it took, cache or store, the outcome.
Kept in the read store; retention trims it to `cqrs.max_queries` entries.

Entries are buffered in this process and written with insert_many by one writer task:
every `flush_interval`, or as soon as `batch_size` entries wait. The buffer holds at most
`buffer_size` entries; an entry past that is dropped and counted, so a slow or absent read
store never makes a query wait and never grows the process. `flush()` writes everything
recorded before it was called (reading the log calls it first, so a replica always finds
its own queries); `close()` writes what is left at shutdown, within a bound."""

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

COLLECTION = "query_log"
log = logging.getLogger("query_service.query_log")


class QueryLog:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        max_entries: int,
        *,
        flush_interval: float = 0.1,
        batch_size: int = 200,
        buffer_size: int = 10_000,
    ) -> None:
        self._log = db[COLLECTION]
        self._max = max_entries
        self._interval = flush_interval
        self._batch = batch_size
        self._capacity = buffer_size
        self._buffer: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()  # the buffer got its first entry, or a full batch
        self._writing = asyncio.Lock()  # one batch on its way at a time, in order
        self._writer: asyncio.Task[None] | None = None
        self._recorded = 0  # entries ever buffered ...
        self._taken = 0  # ... and taken out of the buffer to be written
        self._in_flight = 0  # the batch being written
        self.written = 0
        self.dropped = 0  # the buffer was full
        self.failed = 0  # the read store refused or did not answer

    async def ensure_indexes(self) -> None:
        await self._log.create_index([("at", DESCENDING)])
        await self._log.create_index([("type", 1), ("at", DESCENDING)])

    def record(self, entry: dict[str, Any]) -> None:
        """Buffer one entry (never waits): dropped and counted when the buffer is full."""
        if len(self._buffer) >= self._capacity:
            self.dropped += 1
            return
        self._buffer.append({"_id": entry["query_id"], **entry})
        self._recorded += 1
        if len(self._buffer) == 1 or len(self._buffer) >= self._batch:
            self._wake.set()

    async def flush(self) -> None:
        """Write every entry recorded before this call (after a batch already on its way).
        A caller that is cancelled (a request that times out) stops waiting, not the write."""
        await asyncio.shield(self._flush(self._recorded))

    async def _flush(self, target: int) -> None:
        async with self._writing:
            while self._taken < target and self._buffer:
                n = min(self._batch, len(self._buffer))
                batch = [self._buffer.popleft() for _ in range(n)]
                self._taken += n
                self._in_flight = n  # left as it is if cancelled: close() counts it
                await self._write(batch)
                self._in_flight = 0

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            await self._log.insert_many(batch, ordered=False)
            self.written += len(batch)
        except BulkWriteError as partly:
            done = int(partly.details.get("nInserted", 0))
            self.written += done
            self.failed += len(batch) - done
            log.warning("query log: %d of %d entries not written", len(batch) - done, len(batch))
        except Exception:  # the store down or slow (PyMongoError), a bad document, ...
            self.failed += len(batch)
            log.warning("query log: %d entries not written", len(batch), exc_info=True)

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                await self._wake.wait()
            self._wake.clear()
            if len(self._buffer) < self._batch:  # let a batch gather, for one interval
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._wake.wait()
                self._wake.clear()
            await self._flush(self._recorded)

    def start(self) -> None:
        """Start the writer task (in the app's event loop)."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="query-log-writer")

    async def close(self, within: float) -> None:
        """Stop the writer (not in the middle of a batch) and write what is left, both
        within `within` seconds; what could not be written by then is counted failed."""
        try:
            async with asyncio.timeout(within):
                if self._writer is not None:
                    async with self._writing:
                        self._writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._writer
                await self._flush(self._recorded)
        except TimeoutError:
            left = len(self._buffer) + self._in_flight
            self._taken += len(self._buffer)
            self._buffer.clear()
            self.failed += left
            log.warning("query log: %d entries not written within %ss at shutdown", left, within)
        finally:
            self._writer = None

    def stats(self) -> dict[str, int]:
        return {
            "buffered": len(self._buffer),
            "buffer_size": self._capacity,
            "written": self.written,
            "dropped": self.dropped,
            "failed": self.failed,
        }

    async def get(self, query_id: str) -> dict[str, Any] | None:
        doc = await self._log.find_one({"_id": query_id}, {"_id": 0})
        return _json(doc) if doc else None

    async def page(
        self, type_: str | None, since: datetime | None, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `before` is the last query_id of the previous page."""
        where: dict[str, Any] = {}
        if type_:
            where["type"] = type_
        if since:
            where["at"] = {"$gte": since}
        if before:
            last = await self._log.find_one({"_id": before}, {"at": 1})
            if last is not None:
                where["$or"] = [
                    {"at": {"$lt": last["at"]}},
                    {"at": last["at"], "_id": {"$lt": before}},
                ]
        rows = (
            await self._log.find(where, {"_id": 0})
            .sort([("at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        items = [_json(r) for r in rows[:limit]]
        return items, items[-1]["query_id"] if len(rows) > limit else None

    async def trim(self) -> int:
        """Keep the newest `max_entries`; the number removed."""
        oldest_kept = (
            await self._log.find({}, {"at": 1})
            .sort("at", DESCENDING)
            .skip(self._max - 1)
            .limit(1)
            .to_list()
        )
        if not oldest_kept:
            return 0
        result = await self._log.delete_many({"at": {"$lt": oldest_kept[0]["at"]}})
        return int(result.deleted_count)


def _json(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}
