"""The contract of the consumer port (projector.application.consumer.Consumer), written
once: a test class subclassed per adapter, the in-memory one in tests/unit, the aiokafka
one in tests/integration (unique topics per test). A subclass provides the `rig`
fixture: a fresh topic of PARTITIONS partitions, consumers of it and its dead letters."""

import asyncio
import uuid
from collections.abc import Sequence
from typing import Protocol

import pytest

from projector.application.consumer import Consumer, ConsumerClosedError, Message

PARTITIONS = 2
DEADLINE = 30.0  # seconds for a consumer to join its group and fetch what is expected


class ConsumerRig(Protocol):
    @property
    def topic(self) -> str: ...

    async def publish(
        self,
        partition: int,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None: ...

    def consumer(self, group_id: str) -> Consumer:
        """A consumer of the topic in `group_id`, not started (stopped after the test)."""

    async def dead_letters(self) -> list[tuple[str, str]]:
        """Every dead letter kept so far: (topic:partition:offset it came from, error)."""


async def nothing() -> None:
    return None


async def take(consumer: Consumer, count: int, max_records: int = 100) -> list[Message]:
    """Poll until `count` messages came; raises TimeoutError at the deadline."""
    found: list[Message] = []
    async with asyncio.timeout(DEADLINE):
        while len(found) < count:
            found.extend(await consumer.poll(200, max_records))
    return found


def group() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}"


def by_partition(messages: Sequence[Message]) -> dict[int, list[tuple[int, bytes | None]]]:
    found: dict[int, list[tuple[int, bytes | None]]] = {}
    for m in messages:
        found.setdefault(m.partition, []).append((m.offset, m.value))
    return found


class ConsumerContract:
    @pytest.fixture
    def rig(self) -> ConsumerRig:
        raise NotImplementedError("a subclass provides the rig")

    async def test_a_poll_returns_what_was_published_in_offset_order_per_partition(
        self, rig: ConsumerRig
    ) -> None:
        await rig.publish(0, b"a0", key=b"stream-a", headers=[("event-type", b"UserCreated")])
        await rig.publish(1, b"b0")
        await rig.publish(0, b"a1")
        consumer = rig.consumer(group())
        await consumer.start(nothing)

        got = await take(consumer, 3)

        assert by_partition(got) == {0: [(0, b"a0"), (1, b"a1")], 1: [(0, b"b0")]}
        first = next(m for m in got if m.value == b"a0")
        assert (first.topic, first.key) == (rig.topic, b"stream-a")
        assert list(first.headers) == [("event-type", b"UserCreated")]
        assert first.timestamp > 0

    async def test_a_poll_takes_at_most_max_records(self, rig: ConsumerRig) -> None:
        for n in range(3):
            await rig.publish(0, f"m{n}".encode())
        consumer = rig.consumer(group())
        await consumer.start(nothing)
        polls: list[int] = []
        async with asyncio.timeout(DEADLINE):
            while sum(polls) < 3:
                polls.append(len(await consumer.poll(200, 2)))
        assert max(polls) <= 2

    async def test_seek_makes_the_next_poll_start_at_the_offset(self, rig: ConsumerRig) -> None:
        for n in range(3):
            await rig.publish(0, f"m{n}".encode())
        consumer = rig.consumer(group())
        await consumer.start(nothing)
        await take(consumer, 3)

        consumer.seek(0, 1)

        assert by_partition(await take(consumer, 2)) == {0: [(1, b"m1"), (2, b"m2")]}

    async def test_a_new_member_resumes_from_the_groups_committed_offsets(
        self, rig: ConsumerRig
    ) -> None:
        for n in range(3):
            await rig.publish(0, f"m{n}".encode())
        await rig.publish(1, b"other")
        name = group()
        first = rig.consumer(name)
        await first.start(nothing)
        await take(first, 4)
        await first.commit({0: 2})  # partition 1: nothing committed
        await first.stop()

        second = rig.consumer(name)
        await second.start(nothing)

        assert by_partition(await take(second, 2)) == {0: [(2, b"m2")], 1: [(0, b"other")]}

    async def test_high_water_is_the_partition_end_as_last_fetched(self, rig: ConsumerRig) -> None:
        await rig.publish(0, b"m0")
        await rig.publish(0, b"m1")
        consumer = rig.consumer(group())
        await consumer.start(nothing)
        await take(consumer, 2)

        assert consumer.high_water(0) == 2

    async def test_high_water_of_a_partition_not_ours_is_unknown(self, rig: ConsumerRig) -> None:
        """A rebalance can take a partition in the middle of a batch: asking its end must
        not fail the batch (aiokafka asserts on a partition it is not assigned)."""
        await rig.publish(0, b"m0")
        consumer = rig.consumer(group())
        await consumer.start(nothing)
        await take(consumer, 1)

        assert consumer.high_water(PARTITIONS + 5) is None

    async def test_a_dead_letter_is_kept_with_its_error_and_origin(self, rig: ConsumerRig) -> None:
        await rig.publish(1, b"poison")
        consumer = rig.consumer(group())
        await consumer.start(nothing)
        (message,) = await take(consumer, 1)

        await consumer.dead_letter(message, "ValueError: no email")

        assert await rig.dead_letters() == [(f"{rig.topic}:1:0", "ValueError: no email")]

    async def test_an_idle_poll_returns_nothing(self, rig: ConsumerRig) -> None:
        consumer = rig.consumer(group())
        await consumer.start(nothing)

        assert list(await consumer.poll(100, 10)) == []

    async def test_polls_before_start_and_after_stop_are_refused(self, rig: ConsumerRig) -> None:
        consumer = rig.consumer(group())
        with pytest.raises(ConsumerClosedError):
            await consumer.poll(100, 10)
        await consumer.start(nothing)
        await consumer.stop()
        with pytest.raises(ConsumerClosedError):
            await consumer.poll(100, 10)
