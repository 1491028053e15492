"""Rebuild every read model from the event store (the source of truth), with no downtime:

1. announce a staging suffix: live projectors start writing to staging too;
2. wait until every replica has seen it, then replay the whole event store into
   staging (per-stream versions make the overlap with live writes harmless);
3. switch: each staging collection replaces its live one in one rename;
4. stop the dual writes, drop what replicas wrote to staging in flight, then replay
   the tail again into the live collections, so an event a replica applied to the
   old collection during the switch is not lost;
5. drop cached documents, so readers see the rebuilt data at once.

Positions are per shard of the event store: the whole store's newest position, the
replay's start and end and "what arrived meanwhile" are one position per shard
(`Positions`); each shard is replayed in position order, one shard after another
(projections read the streams of one shard together: no order between shards is
needed), and the progress counts add up over the shards. No rebuild state holds a
position (the switchboard and progress records hold a suffix and counts only)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cqrs_contracts.envelopes import EventEnvelope
from projector.application.ports import History, Views
from projector.application.projector import Projector

TAIL_MARGIN = 1000  # positions of each shard replayed again after the switch
Positions = Mapping[int, int]  # event-store shard -> a position on it (left out: 0)


class EventLog(History, Protocol):
    async def max_positions(self) -> dict[int, int]:
        """Every shard's newest position."""

    async def count_shards(self, after: Positions, up_to: Positions) -> int:
        """Events with after[s] < position <= up_to[s], over the shards of `up_to`."""

    def replay_shards(
        self, after: Positions, up_to: Positions, batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Those events, `batch` at a time, each shard in position order."""


class Switchboard(Protocol):
    async def begin(self, suffix: str) -> None: ...

    async def switch(self, suffix: str) -> None: ...

    async def end(self) -> None: ...

    async def discard(self, suffix: str) -> None: ...

    async def report(self, done: int, total: int) -> None:
        """How far the rebuild under way has got (every replica's metrics show it)."""


Progress = Callable[[int, int], None]  # (events done, events in total)
REPORT_SECONDS = 1.0


@dataclass
class Rebuild:
    live: Views
    staging: Views
    events: EventLog
    control: Switchboard
    settle_seconds: float = 2.5
    batch: int = 1000
    _reported_at: float = field(default=-float("inf"), init=False)

    async def run(self, progress: Progress, on_switched: Callable[[], Awaitable[None]]) -> int:
        """Rebuild; the number of events replayed into staging. Its indexes are built
        once it is filled (cheaper than keeping them up to date insert by insert), before
        it replaces the live set."""
        await self.control.begin(self.staging.suffix)
        try:
            done, end = await self._fill(progress)
            await self.control.switch(self.staging.suffix)
        except BaseException:
            # failed or stopped before the switch: the live set is untouched; leave no
            # staging set behind (nor a switchboard telling replicas to write to one)
            await asyncio.shield(self._abandon())
            raise
        await self.control.end()
        await asyncio.sleep(self.settle_seconds)  # replicas stop writing to staging
        await self.control.discard(self.staging.suffix)
        healer = Projector(views=[self.live], history=self.events, notifier=None)
        tail = {shard: max(top - TAIL_MARGIN, 0) for shard, top in end.items()}
        await self._replay(healer, tail, await self.events.max_positions())
        await on_switched()
        return done

    async def _fill(self, progress: Progress) -> tuple[int, dict[int, int]]:
        """Replay the whole event store into staging, then what arrived meanwhile; its
        indexes last. (events replayed, each shard's position replayed up to)."""
        await asyncio.sleep(self.settle_seconds)  # every replica now writes to staging
        replayer = Projector(views=[self.staging], history=self.events, notifier=None)
        start = await self.events.max_positions()
        total = await self.events.count_shards({}, start)
        done = await self._replay(replayer, {}, start, progress=progress, total=total)
        end = await self.events.max_positions()  # what arrived meanwhile, once more
        total += await self.events.count_shards(start, end)
        done += await self._replay(
            replayer, start, end, progress=progress, total=total, done_before=done
        )
        await self.staging.ensure_indexes()
        return done, end

    async def _abandon(self) -> None:
        await self.control.end()
        await asyncio.sleep(self.settle_seconds)  # replicas stop writing to staging
        await self.control.discard(self.staging.suffix)

    async def _replay(
        self,
        projector: Projector,
        after: Positions,
        up_to: Positions,
        *,
        progress: Progress | None = None,
        total: int = 0,
        done_before: int = 0,
    ) -> int:
        done = 0
        async for batch in _ahead(self.events.replay_shards(after, up_to, self.batch)):
            await projector.handle_batch(batch)
            done += len(batch)
            if progress is not None:
                progress(done_before + done, total)
                await self._report(done_before + done, total)
        return done

    async def _report(self, done: int, total: int) -> None:
        """The progress, at most once per REPORT_SECONDS and when done."""
        now = time.monotonic()
        if done < total and now - self._reported_at < REPORT_SECONDS:
            return
        self._reported_at = now
        await self.control.report(done, total)


async def _ahead(
    batches: AsyncIterator[list[EventEnvelope]],
) -> AsyncIterator[list[EventEnvelope]]:
    """`batches`, each next one read from the event store while this one is projected."""
    upcoming = asyncio.ensure_future(anext(batches, None))
    try:
        while (batch := await upcoming) is not None:
            upcoming = asyncio.ensure_future(anext(batches, None))
            yield batch
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upcoming


def staging_suffix() -> str:
    return f"__rebuild_{int(time.time())}"
