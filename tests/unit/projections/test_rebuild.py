"""A rebuild that fails or is stopped before its switch leaves the live read models as
they were and nothing behind: the switchboard cleared (replicas stop writing to staging)
and the staging set dropped. One that completes switches exactly once."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import UserReadModel
from projector.application.memory_views import MemoryViews
from projector.application.rebuild import Rebuild
from tests.unit.projections.helpers import Log, new_id, user_created, user_updated


class StagingViews(MemoryViews):
    suffix = "__rebuild_test"


@dataclass
class Switchboard:
    calls: list[str] = field(default_factory=list)

    async def begin(self, suffix: str) -> None:
        self.calls.append(f"begin {suffix}")

    async def switch(self, suffix: str) -> None:
        self.calls.append(f"switch {suffix}")

    async def end(self) -> None:
        self.calls.append("end")

    async def discard(self, suffix: str) -> None:
        self.calls.append(f"discard {suffix}")

    async def report(self, done: int, total: int) -> None:
        return None


@dataclass
class EventLog:
    """The store's events; replay breaks (or hangs) after `fail_after` batches."""

    envelopes: list[EventEnvelope]
    fail_after: int | None = None
    hang: bool = False

    async def max_positions(self) -> dict[int, int]:
        return {0: len(self.envelopes)}

    async def count_shards(self, after: Mapping[int, int], up_to: Mapping[int, int]) -> int:
        return len(self._between(after, up_to))

    def _between(self, after: Mapping[int, int], up_to: Mapping[int, int]) -> list[EventEnvelope]:
        return [e for e in self.envelopes if after.get(0, 0) < (e.position or 0) <= up_to[0]]

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        return [
            e for e in self.envelopes if e.stream_id == stream_id and after < e.version < before
        ]

    async def replay_shards(
        self, after: Mapping[int, int], up_to: Mapping[int, int], batch: int
    ) -> AsyncIterator[list[EventEnvelope]]:
        chosen = self._between(after, up_to)
        for n, start in enumerate(range(0, len(chosen), batch)):
            if self.fail_after is not None and n >= self.fail_after:
                if self.hang:
                    await asyncio.Event().wait()
                raise ConnectionError("event store gone")
            yield chosen[start : start + batch]


def store(users: int = 4) -> list[EventEnvelope]:
    log = Log()
    for _ in range(users):
        uid = new_id()
        log.add(user_created(uid), user_updated(uid, age=40))
    return log.envelopes


def rebuild(events: EventLog, board: Switchboard) -> Rebuild:
    return Rebuild(MemoryViews(), StagingViews(), events, board, settle_seconds=0, batch=2)


async def done() -> None:
    return None


async def test_a_rebuild_that_completes_switches_once_and_clears_the_switchboard() -> None:
    board = Switchboard()
    replayed = await rebuild(EventLog(store()), board).run(lambda d, t: None, done)
    assert replayed == 8
    suffix = StagingViews.suffix
    assert board.calls == [f"begin {suffix}", f"switch {suffix}", "end", f"discard {suffix}"]


async def test_a_rebuild_that_fails_before_its_switch_leaves_no_staging_set() -> None:
    board = Switchboard()
    job = rebuild(EventLog(store(), fail_after=1), board)
    with pytest.raises(ConnectionError):
        await job.run(lambda d, t: None, done)
    suffix = StagingViews.suffix
    assert board.calls == [f"begin {suffix}", "end", f"discard {suffix}"]
    assert await job.live.load(UserReadModel, "anyone") == (None, 0)  # live untouched


async def test_a_rebuild_stopped_before_its_switch_leaves_no_staging_set() -> None:
    board = Switchboard()
    running = asyncio.create_task(
        rebuild(EventLog(store(), fail_after=1, hang=True), board).run(lambda d, t: None, done)
    )
    while "begin" not in " ".join(board.calls):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.sleep(0)  # the shielded clean-up runs to its end
    suffix = StagingViews.suffix
    assert board.calls == [f"begin {suffix}", "end", f"discard {suffix}"]
