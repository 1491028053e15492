"""The rebuild switchboard, a document every projector replica watches.

While `{"_id": "rebuild", "suffix": S}` exists, live projectors write every event to the
staging collections (names + S) as well as to the live ones, so a rebuild misses
nothing that arrives while it replays the event store."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from cqrs_read_store.documents import COLLECTIONS

log = logging.getLogger("projector.rebuild")
CONTROL = "projection_control"
REFRESH_SECONDS = 1.0


class RebuildControl:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def building(self) -> str | None:
        """The staging suffix of the rebuild under way, if any."""
        doc = await self._db[CONTROL].find_one({"_id": "rebuild"})
        return str(doc["suffix"]) if doc else None

    async def state(self) -> dict[str, Any]:
        """For the status page: is a rebuild running, into which staging set, since when."""
        doc = await self._db[CONTROL].find_one({"_id": "rebuild"})
        if doc is None:
            return {"running": False}
        started = doc.get("started_at")
        return {
            "running": True,
            "staging_suffix": doc["suffix"],
            "started_at": started.isoformat() if started else None,
            "done": doc.get("done", 0),
            "total": doc.get("total", 0),
        }

    async def report(self, done: int, total: int) -> None:
        await self._db[CONTROL].update_one(
            {"_id": "rebuild"}, {"$set": {"done": done, "total": total}}
        )

    async def progress(self) -> float | None:
        """The rebuild under way's share done (0..1); None: no rebuild runs."""
        doc = await self._db[CONTROL].find_one({"_id": "rebuild"}, {"done": 1, "total": 1})
        if doc is None:
            return None
        total = doc.get("total", 0)
        return min(doc.get("done", 0) / total, 1.0) if total else 0.0

    async def begin(self, suffix: str) -> None:
        await self._db[CONTROL].replace_one(
            {"_id": "rebuild"},
            {"suffix": suffix, "started_at": datetime.now(UTC)},
            upsert=True,
        )

    async def end(self) -> None:
        await self._db[CONTROL].delete_one({"_id": "rebuild"})

    async def switch(self, suffix: str) -> None:
        """Put every staging collection in place of its live one (atomic per collection)."""
        for name in COLLECTIONS.values():
            await self._db[name + suffix].rename(name, dropTarget=True)

    async def discard(self, suffix: str) -> None:
        """Drop what is left of a staging set (replicas' last in-flight dual writes)."""
        for name in COLLECTIONS.values():
            await self._db.drop_collection(name + suffix)

    async def watch(self, on_change: Callable[[str | None], None]) -> None:
        """Tell `on_change` whenever the rebuild state changes; runs until cancelled."""
        current: str | None = None
        on_change(None)
        while True:
            try:
                seen = await self.building()
            except Exception:
                log.warning("could not read the rebuild state; keeping %r", current)
            else:
                if seen != current:
                    current = seen
                    on_change(current)
            await asyncio.sleep(REFRESH_SECONDS)


async def stop(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
