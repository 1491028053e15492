"""A rebuild and the consistency check over an event store of two shards (two databases
on the test server): every shard is replayed in full, with what arrived on each while
the rebuild ran, and the progress counts add up over the shards."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import EventData
from cqrs_contracts.read_models import OrderReadModel, ReadModel, UserReadModel
from cqrs_event_store.reader import EventReader
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.shards import ShardMap
from projector.application.consistency import check
from projector.application.memory_views import MemoryViews
from projector.application.rebuild import Rebuild
from tests.support.event_stores import append, own_shards
from tests.support.services import Endpoints
from tests.unit.projections.helpers import envelope, order_created, user_created

SHARDS = ShardMap(2)


class StagingViews(MemoryViews):
    suffix = "__rebuild_sharded"


@dataclass
class Switchboard:
    """Appends a user with an order to each shard at the first progress report (while
    the rebuild replays): what arrived meanwhile."""

    engines: list[AsyncEngine]
    late: list[str] = field(default_factory=list)
    reports: list[tuple[int, int]] = field(default_factory=list)

    async def begin(self, suffix: str) -> None: ...

    async def switch(self, suffix: str) -> None: ...

    async def end(self) -> None: ...

    async def discard(self, suffix: str) -> None: ...

    async def report(self, done: int, total: int) -> None:
        if not self.reports:
            for shard, engine in enumerate(self.engines):
                uid = SHARDS.mint(shard)
                await append(engine, customer(uid, SHARDS.mint(shard)))
                self.late.append(uid)
        self.reports.append((done, total))


def stored(event: EventData, version: int, stream_id: str) -> EventEnvelope:
    made = envelope(event, version, stream_id=stream_id)
    return made.model_copy(update={"event_id": SHARDS.mint(SHARDS.of(stream_id))})


def customer(uid: str, oid: str) -> list[EventEnvelope]:
    """A user and one order of theirs (on the user's shard)."""
    return [stored(user_created(uid), 1, uid), stored(order_created(oid, uid), 1, oid)]


@pytest.fixture
async def engines(endpoints: Endpoints, run_id: str) -> AsyncIterator[list[AsyncEngine]]:
    name = f"cqrs_test_{run_id}_rb{uuid.uuid4().hex[:6]}"
    async with own_shards(endpoints.mysql_url, name) as made:
        yield made


async def test_a_rebuild_replays_every_shard_and_what_arrived_meanwhile(
    engines: list[AsyncEngine],
) -> None:
    users = {s: [SHARDS.mint(s) for _ in range(3 + 2 * s)] for s in (0, 1)}  # 3 and 5
    orders = {}
    for shard, uids in users.items():
        for uid in uids:
            orders[uid] = SHARDS.mint(shard)
            await append(engines[shard], customer(uid, orders[uid]))
    reader = EventReader(ShardRouters.from_engines(engines), keys=None)
    board = Switchboard(engines)
    staging = StagingViews()
    progress: list[tuple[int, int]] = []
    rebuild = Rebuild(MemoryViews(), staging, reader, board, settle_seconds=0, batch=3)

    done = await rebuild.run(lambda d, t: progress.append((d, t)), _nothing)

    assert done == 2 * (3 + 5 + 2)
    assert progress[-1] == (done, done)
    every_user = [*users[0], *users[1], *board.late]
    assert {i for (kind, i) in staging.docs if kind == UserReadModel.NAME} == set(every_user)
    orders_done = {i for (kind, i) in staging.docs if kind == OrderReadModel.NAME}
    assert set(orders.values()) <= orders_done
    assert len(orders_done) == len(every_user)

    report = await check(ReadModels(staging), reader, batch=4)
    assert report.events == done
    assert report.consistent, report


async def _nothing() -> None:
    return None


@dataclass
class ReadModels:
    """Memory views as the consistency check reads a store."""

    views: MemoryViews

    async def all_ids(self, model: type[ReadModel]) -> list[str]:
        return [i for (kind, i) in self.views.docs if kind == model.NAME]

    async def load(self, model: type[ReadModel], doc_id: str) -> tuple[ReadModel | None, int]:
        return await self.views.load(model, doc_id)
