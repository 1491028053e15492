"""The delivery loop's guarantees against the in-memory consumer and a scripted processor
(both of our own ports): retries, rewind by seek, dead letters, throttled commits of what
is done, and what stop and cancellation leave committed. Steps are driven one poll at a
time, pauses recorded instead of slept, the clock moved by hand."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from projector.adapters.memory_consumer import MemoryConsumer, MemoryTopic
from projector.application.consumer import Message
from projector.application.delivery import Decoded, DeliveryConfig, DeliveryLoop

GROUP = "group"


@dataclass
class Script:
    """A processor whose failures are scripted per message value. A value starting with
    "!" is not one of its messages (rejected: dead-lettered at once)."""

    batched: bool = True
    batch_failures: list[Exception] = field(default_factory=list)  # one per process_batch
    failures: dict[bytes, list[Exception]] = field(default_factory=dict)  # one per attempt
    at_once: set[bytes] = field(default_factory=set)  # process asks for a commit at once
    gate: asyncio.Event | None = None  # process_batch waits for it
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    on_decode: Callable[[], None] = lambda: None
    done: list[bytes] = field(default_factory=list)
    closed: int = 0
    transient: tuple[type[Exception], ...] = (ConnectionError,)

    def decode(self, messages: Sequence[Message]) -> Decoded[bytes]:
        self.on_decode()
        values = [(m, m.value or b"") for m in messages]
        return Decoded(
            items=[(m, v) for m, v in values if not v.startswith(b"!")],
            rejected=[(m, "not ours") for m, v in values if v.startswith(b"!")],
            positions={m.partition: int(v[1:]) for m, v in values if v.startswith(b"@")},
            close=self.close,
        )

    def close(self) -> None:
        self.closed += 1

    async def process_batch(self, batch: Decoded[bytes]) -> bool:
        if not self.batched:
            return False
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.batch_failures:
            raise self.batch_failures.pop(0)
        self.done.extend(v for _, v in batch.items)
        return True

    async def process(self, message: Message, item: bytes, batch: Decoded[bytes]) -> bool:
        script = self.failures.get(item, [])
        if script:
            raise script.pop(0)
        self.done.append(item)
        return item in self.at_once


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    topic: MemoryTopic
    consumer: MemoryConsumer
    script: Script
    loop: DeliveryLoop[bytes]
    pauses: list[float]
    clock: Clock

    def publish(self, *values: bytes, partition: int = 0) -> None:
        for value in values:
            self.topic.publish(value, partition=partition)

    def committed(self) -> dict[int, int]:
        return self.topic.committed.get(GROUP, {})

    async def started(self) -> "Rig":
        """The consumer joined (the loop's own task not started: the test steps it)."""
        await self.consumer.start(self.loop.commit_stored)
        return self


def rig(script: Script | None = None, *, partitions: int = 1, **config: float) -> Rig:
    topic = MemoryTopic("events", partitions)
    consumer = MemoryConsumer(topic, GROUP)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    settings = {"batch_max_records": 100, "idle_poll_ms": 50, "max_attempts": 3, "backoff": 0.2}
    clock = Clock()
    script = script or Script()
    loop = DeliveryLoop(
        consumer,
        script,
        DeliveryConfig(**(settings | config)),  # type: ignore[arg-type]
        sleep=sleep,
        clock=clock,
    )
    return Rig(topic, consumer, script, loop, pauses, clock)


async def test_a_batch_is_processed_at_once_and_committed_after_it() -> None:
    r = await rig().started()
    r.publish(b"a", b"b")
    r.publish(b"c", partition=0)

    await r.loop.step()
    assert r.script.done == [b"a", b"b", b"c"]
    assert r.consumer.commits == []  # throttled: not due yet, more may come
    await r.loop.step()  # nothing more came: what is done is committed
    assert r.consumer.commits == [{0: 3}]
    assert (r.loop.processed, r.loop.batches, r.pauses) == (3, 1, [])


async def test_a_failing_batch_goes_one_at_a_time_and_a_transient_failure_rewinds_by_seek() -> None:
    script = Script(batch_failures=[RuntimeError("bulk write")])
    script.failures[b"b"] = [ConnectionError("read store down")] * 3
    r = await rig(script).started()
    r.publish(b"a", b"b", b"c")

    await r.loop.step()
    assert script.done == [b"a"]  # c waits behind b: nothing after it is skipped
    assert r.pauses == [0.2, 0.4, 0.8]  # three attempts, doubling, then the rewind
    assert r.topic.dead_letters == []  # a transient failure never dead-letters

    await r.loop.step()  # fetched again from b
    assert script.done == [b"a", b"b", b"c"]
    await r.loop.stop()
    assert r.committed() == {0: 3}


async def test_a_poison_message_is_dead_lettered_after_max_attempts_then_passed() -> None:
    script = Script(batch_failures=[ValueError("no email")])
    script.failures[b"poison"] = [ValueError("no email")] * 3
    r = await rig(script).started()
    r.publish(b"a", b"poison", b"c")

    await r.loop.step()
    assert script.done == [b"a", b"c"]
    assert [(m.offset, error) for m, error in r.topic.dead_letters] == [(1, "ValueError: no email")]
    assert r.pauses == [0.2, 0.4]
    assert r.loop.dead_lettered == 1
    await r.loop.step()
    assert r.committed() == {0: 3}  # past the poison message
    assert list(await r.consumer.poll(10, 10)) == []


async def test_a_message_its_processor_rejects_is_dead_lettered_at_once_the_rest_batched() -> None:
    r = await rig().started()
    r.publish(b"a", b"!not-an-event", b"c")

    await r.loop.step()
    assert [(m.value, error) for m, error in r.topic.dead_letters] == [
        (b"!not-an-event", "not ours")
    ]
    assert r.script.done == [b"a", b"c"]
    assert r.pauses == []
    await r.loop.stop()
    assert r.committed() == {0: 3}


async def test_a_batch_that_cannot_be_done_is_fetched_again_from_its_first_message() -> None:
    r = await rig().started()
    r.publish(b"a", b"!bad", b"c")
    r.script.on_decode = lambda: setattr(r.consumer, "broken", True)  # no dead letter

    await r.loop.step()
    assert r.script.done == []
    assert r.pauses == [0.2]
    r.script.on_decode = lambda: None
    r.consumer.broken = False
    await r.loop.step()
    assert r.script.done == [b"a", b"c"]


async def test_commits_are_throttled_and_the_last_stored_offset_is_committed_at_stop() -> None:
    r = await rig().started()
    r.publish(b"a")
    await r.loop.step()
    r.publish(b"b")
    await r.loop.step()
    assert r.consumer.commits == []  # two batches, no commit yet
    r.clock.now += 0.1
    r.publish(b"c")
    await r.loop.step()
    assert r.consumer.commits == [{0: 3}]  # due: one commit for the three
    r.publish(b"d")
    await r.loop.step()
    assert r.consumer.commits == [{0: 3}]

    await r.loop.stop()
    assert r.consumer.commits == [{0: 3}, {0: 4}]
    assert r.committed() == {0: 4}


async def test_many_messages_done_are_committed_without_waiting() -> None:
    r = await rig(commit_after=2).started()
    r.publish(b"a", b"b")

    await r.loop.step()
    assert r.consumer.commits == [{0: 2}]


async def test_a_message_whose_processor_asks_is_committed_at_once() -> None:
    r = await rig(Script(batched=False, at_once={b"sent"})).started()
    r.publish(b"skipped", b"sent", b"after")

    await r.loop.step()
    assert r.script.done == [b"skipped", b"sent", b"after"]
    assert r.consumer.commits == [{0: 2}]  # up to and including the one sent


async def test_each_partition_is_committed_up_to_its_last_message_done() -> None:
    r = await rig(partitions=2).started()
    r.publish(b"@5", b"@9")
    r.publish(b"@7", partition=1)

    await r.loop.step()
    await r.loop.stop()
    assert r.committed() == {0: 2, 1: 1}
    assert {p: (s.offset, s.position, s.lag) for p, s in r.loop.partitions.items()} == {
        0: (1, 9, 0),
        1: (0, 7, 0),
    }


async def test_partitions_revoked_get_what_is_done_committed_first() -> None:
    r = await rig().started()
    r.publish(b"a")
    await r.loop.step()

    await r.consumer.revoke()
    assert r.consumer.commits == [{0: 1}]


async def test_a_failed_fetch_pauses_then_the_loop_goes_on() -> None:
    r = await rig(broker_pause=5.0).started()
    r.consumer.broken = True
    assert await r.loop.step()
    assert r.pauses == [5.0]
    r.consumer.broken = False
    r.publish(b"a")
    await r.loop.step()
    assert r.script.done == [b"a"]


async def test_cancelling_a_batch_under_way_commits_nothing_it_had_not_stored() -> None:
    r = rig(stop_seconds=0)
    await r.loop.start()
    r.publish(b"a")
    async with asyncio.timeout(10):
        while r.script.done != [b"a"]:
            await asyncio.sleep(0.01)
    r.script.gate = asyncio.Event()  # never opened: the next batch hangs
    r.script.entered.clear()
    r.publish(b"b", b"c")
    async with asyncio.timeout(10):
        await r.script.entered.wait()

    await r.loop.stop()  # no time left: the batch is cancelled
    assert r.script.done == [b"a"]
    assert r.committed() == {0: 1}
    assert r.script.closed == 2  # the cancelled batch was closed too (its spans end)
    assert not r.loop.running


async def test_stop_lets_the_batch_under_way_finish_and_commits_it() -> None:
    r = rig(stop_seconds=30)
    await r.loop.start()
    r.script.gate = asyncio.Event()
    r.publish(b"a", b"b")
    async with asyncio.timeout(10):
        await r.script.entered.wait()

    stopping = asyncio.create_task(r.loop.stop())
    await asyncio.sleep(0)
    r.script.gate.set()
    await stopping
    assert r.script.done == [b"a", b"b"]
    assert r.committed() == {0: 2}
    assert not r.loop.running
