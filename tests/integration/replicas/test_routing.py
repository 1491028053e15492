"""`ReadRouter` and `EventReader` on the real replica: reads go to it when it has what
they need (the server itself says who it is), to the primary when it lags behind the
position they need, is further behind than the bound, or is down; health says which."""

import asyncio
import socket
import uuid

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from cqrs_event_store.reader import EventReader
from cqrs_event_store.replicas import PRIMARY, ReadRouter, Replica, ReplicasDegradedError
from tests.integration.replicas.conftest import Pair, ReplicaControl, replica_has
from tests.integration.replicas.events import append, user_events
from tests.support.polling import eventually

BEHIND = "primary (replica behind)"


async def test_a_current_replica_answers_gap_filling_and_replays(
    pair: Pair, replica_control: ReplicaControl
) -> None:
    user = str(uuid.uuid4())
    top = await append(pair.primary, user_events(user, range(1, 6)))
    await replica_has(pair.replica, top)
    router = pair.router()
    reader = EventReader(pair.primary, None, router)
    state = (await router.refresh())[pair.replica_name]
    assert (state.port, state.server_id) == await replica_control.server()
    assert state.error is None
    assert state.reached >= top

    gap = await reader.stream_between(user, 1, 5)  # the projector's gap filling
    assert [e.version for e in gap] == [2, 3, 4]
    assert await reader.count(0, top) == 5  # a rebuild's total, then its pages
    pages = [page async for page in reader.replay(0, top, batch=2)]
    assert [e.version for page in pages for e in page] == [1, 2, 3, 4, 5]
    assert router.served == {pair.replica_name: 1 + 1 + 3}
    await router.close()


async def test_a_read_needing_what_the_replica_lacks_goes_to_the_primary(
    pair: Pair, replica_control: ReplicaControl
) -> None:
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    before = await append(pair.primary, user_events(old, range(1, 3)))
    await replica_has(pair.replica, before)
    await replica_control.stop_applying()
    after = await append(pair.primary, user_events(new, range(1, 4)))
    router = pair.router()
    reader = EventReader(pair.primary, None, router)
    state = (await router.refresh())[pair.replica_name]
    assert before <= state.reached < after  # it has the old stream, not the new one

    assert router.route(needs=before).name == pair.replica_name
    assert router.route(needs=after).name == PRIMARY
    gap = await reader.stream_between(new, 0, 3)  # the replica has none of these yet
    assert [e.version for e in gap] == [1, 2]
    assert router.served == {BEHIND: 1, PRIMARY: 1}
    assert [e.version for e in await reader.stream_between(old, 0, 3)] == [1, 2]
    assert router.served[pair.replica_name] == 1  # what it has, it answers
    assert await reader.count(0, after) == 5
    assert router.served[PRIMARY] == 2  # a rebuild up to `after` cannot use it

    await replica_control.resume()
    await replica_has(pair.replica, after)
    await router.refresh()
    assert router.route(needs=after).name == pair.replica_name
    await router.close()


async def test_a_replica_behind_the_bound_is_skipped_and_health_degrades(
    pair: Pair, replica_control: ReplicaControl
) -> None:
    router = pair.router(max_lag=0.3)
    assert (await router.health())[pair.replica_name]["error"] is None  # current: healthy
    await replica_control.stop_applying()
    await append(pair.primary, user_events(str(uuid.uuid4()), range(1, 2)))
    await router.refresh()  # the primary's new position is seen now
    await asyncio.sleep(0.5)
    state = (await router.refresh())[pair.replica_name]
    assert state.lag > 0.3
    assert router.route(needs=0).name == PRIMARY
    with pytest.raises(ReplicasDegradedError, match="behind"):
        await router.health()

    await replica_control.resume()
    report = await eventually(
        router.health, timeout=30, what="the replica to catch up", ignoring=(ReplicasDegradedError,)
    )
    assert report[pair.replica_name]["lag_s"] <= 0.3
    assert router.route(needs=0).name == pair.replica_name
    await router.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_replica_that_is_down_is_skipped_and_health_degrades(pair: Pair) -> None:
    user = str(uuid.uuid4())
    await append(pair.primary, user_events(user, range(1, 4)))
    port = _closed_port()
    down = create_async_engine(f"mysql+aiomysql://cqrs:cqrs_password@127.0.0.1:{port}/{pair.name}")
    router = ReadRouter(pair.primary, [Replica(f"127.0.0.1:{port}", down)], probe_interval=0.05)
    reader = EventReader(pair.primary, None, router)
    state = (await router.refresh())[f"127.0.0.1:{port}"]
    assert state.error is not None
    assert "OperationalError" in state.error
    assert [e.version for e in await reader.stream_between(user, 0, 4)] == [1, 2, 3]
    assert router.served == {PRIMARY: 1}
    with pytest.raises(ReplicasDegradedError, match=str(port)):
        await router.health()
    await router.close()
