"""The Waiter port: a wait returns [] once every stream of the token reached its version,
and what is still behind when the time is up. Subclasses give `waiter` and `applied`
(records a stream's version as in every read model, as the projector does)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from cqrs_contracts.consistency import StreamVersion
from query_service.queries.ports import Waiter

Applied = Callable[[str, int], Awaitable[None]]
LONG = 60.0  # never reached by a wait that works: a broken one fails, not times out
SHORT = 0.05


def a_stream(version: int) -> StreamVersion:
    return StreamVersion("user", f"s{uuid.uuid4().hex[:12]}", version)


class WaiterContract:
    @pytest.fixture
    def waiter(self) -> Waiter:
        raise NotImplementedError("a subclass gives its waiter")

    @pytest.fixture
    def applied(self) -> Applied:
        raise NotImplementedError("a subclass gives how a version is recorded applied")

    async def test_versions_already_applied_are_reached(
        self, waiter: Waiter, applied: Applied
    ) -> None:
        one, two = a_stream(2), a_stream(1)
        await applied(one.stream_id, 2)
        await applied(two.stream_id, 5)  # past the version wanted
        assert await waiter.wait([one, two], 0) == []

    async def test_what_is_behind_at_the_deadline_is_answered(
        self, waiter: Waiter, applied: Applied
    ) -> None:
        reached, short, unknown = a_stream(1), a_stream(3), a_stream(1)
        await applied(reached.stream_id, 1)
        await applied(short.stream_id, 2)
        assert await waiter.wait([reached, short, unknown], SHORT) == [short, unknown]

    async def test_a_wait_ends_when_the_version_is_applied(
        self, waiter: Waiter, applied: Applied
    ) -> None:
        one, two = a_stream(1), a_stream(2)
        waiting = asyncio.create_task(waiter.wait([one, two], LONG))
        await applied(one.stream_id, 1)
        await applied(two.stream_id, 1)
        await asyncio.sleep(SHORT)  # a chance to wake too early, on the first stream
        assert not waiting.done()
        await applied(two.stream_id, 2)
        assert await waiting == []

    async def test_an_applied_version_never_goes_back(
        self, waiter: Waiter, applied: Applied
    ) -> None:
        stream = a_stream(3)
        await applied(stream.stream_id, 3)
        await applied(stream.stream_id, 1)
        assert await waiter.wait([stream], 0) == []
