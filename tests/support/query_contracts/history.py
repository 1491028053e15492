"""The History port (time travel's read of the event store): one event of a stream, how
far a time reaches, and the events of a set of streams bounded by position, time and
count, in position order. Subclasses give `history` and `append` (stores envelopes as the
event store does: each the next position)."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from cqrs_contracts.envelopes import EventEnvelope
from query_service.queries.ports import History

Append = Callable[[list[EventEnvelope]], Awaitable[None]]
T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


def a_stream() -> str:
    return f"h{uuid.uuid4().hex[:12]}"


def event(stream_id: str, version: int, seconds: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="order",
        stream_id=stream_id,
        version=version,
        type="OrderUpdated",
        schema_version=1,
        data={
            "order_id": stream_id,
            "description": f"v{version}",
            "updated_at": (T0 + timedelta(seconds=seconds)).isoformat(),
        },
        occurred_at=T0 + timedelta(seconds=seconds),
    )


class HistoryContract:
    @pytest.fixture
    def history(self) -> History:
        raise NotImplementedError("a subclass gives its history")

    @pytest.fixture
    def append(self) -> Append:
        raise NotImplementedError("a subclass gives how events are stored")

    async def _two_streams(self, append: Append) -> tuple[str, str]:
        """a v1 (t0), b v1 (t1), a v2 (t2), b v2 (t3), a v3 (t4), stored in that order."""
        a, b = a_stream(), a_stream()
        await append([event(a, 1, 0), event(b, 1, 1), event(a, 2, 2), event(b, 2, 3)])
        await append([event(a, 3, 4)])
        return a, b

    async def test_one_event_of_a_stream_or_none(self, history: History, append: Append) -> None:
        a, _ = await self._two_streams(append)
        found = await history.event_at(a, 2)
        assert found is not None
        assert (found.stream_id, found.version, found.occurred_at) == (
            a,
            2,
            T0 + timedelta(seconds=2),
        )
        assert found.position is not None
        assert await history.event_at(a, 4) is None
        assert await history.event_at(a_stream(), 1) is None

    async def test_the_events_of_some_streams_in_position_order(
        self, history: History, append: Append
    ) -> None:
        a, b = await self._two_streams(append)
        found = await history.of_streams([a, b], limit=100)
        assert [(e.stream_id, e.version) for e in found] == [
            (a, 1), (b, 1), (a, 2), (b, 2), (a, 3)
        ]  # fmt: skip
        positions = [e.position or 0 for e in found]
        assert positions == sorted(positions)
        assert len(set(positions)) == 5
        only_b = await history.of_streams([b], limit=100)
        assert [(e.stream_id, e.version) for e in only_b] == [(b, 1), (b, 2)]

    async def test_bounded_by_position_time_and_count(
        self, history: History, append: Append
    ) -> None:
        a, b = await self._two_streams(append)
        a2 = await history.event_at(a, 2)
        assert a2 is not None
        up_to = await history.of_streams([a, b], limit=100, up_to=a2.position)
        assert [(e.stream_id, e.version) for e in up_to] == [(a, 1), (b, 1), (a, 2)]
        until = await history.of_streams([a, b], limit=100, until=T0 + timedelta(seconds=3))
        assert [(e.stream_id, e.version) for e in until] == [(a, 1), (b, 1), (a, 2), (b, 2)]
        first_two = await history.of_streams([a, b], limit=2)
        assert [(e.stream_id, e.version) for e in first_two] == [(a, 1), (b, 1)]

    async def test_how_far_a_time_reaches(self, history: History, append: Append) -> None:
        a, b = await self._two_streams(append)
        b2 = await history.event_at(b, 2)
        assert b2 is not None
        assert await history.reached([a, b], T0 + timedelta(seconds=3, milliseconds=5)) == (
            b2.position,
            4,
        )
        assert await history.reached([a, b], T0 - timedelta(microseconds=1)) == (0, 0)
        assert await history.reached([b], T0 + timedelta(hours=1)) == (b2.position, 2)
