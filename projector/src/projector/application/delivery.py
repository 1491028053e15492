"""One delivery loop for every Kafka consumer of the projector (the projections, the
webhooks): what it guarantees, whatever the messages go to. Each consumer brings only its
Processor (decode a batch, process it) and its DeliveryConfig.

- The consumer long-polls: a poll returns as soon as records arrive, and an idle loop
  wakes up only every `idle_poll_ms` (or once, `commit_every` after its last batch, to
  commit it).
- A batch goes to the processor at once when it takes batches; if that fails (or it does
  not), the batch is gone through one message at a time, so a poison message can be told
  from the rest.
- A transient failure (the processor names its kinds) is retried with backoff, then every
  partition is rewound by seek to its first message not yet done: nothing after it is
  skipped. Any other failure is retried the same, then the message is dead-lettered with
  the error and the partition moves on.
- Offsets are committed per partition up to the last message done, at most every
  `commit_every` (one broker round trip for many messages), at once for a message whose
  processor asks it (a webhook was sent), and always at stop and before partitions are
  revoked. A message never counts as done before its processor returned: after a crash
  or a cancelled batch the uncommitted tail is delivered again."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from projector.application.consumer import (
    BrokerError,
    Consumer,
    ConsumerClosedError,
    Message,
)

log = logging.getLogger("projector.delivery")
T = TypeVar("T")


@dataclass(slots=True)
class Decoded(Generic[T]):
    """A fetched batch as its processor takes it."""

    items: list[tuple[Message, T]]  # to process, in fetch order (per partition in order)
    rejected: list[tuple[Message, str]] = field(default_factory=list)  # dead-lettered at once
    positions: dict[int, int] = field(default_factory=dict)  # per partition, the furthest
    # source position in the batch (the projector's event-store position), for status
    received_at: float = 0.0  # epoch ms the batch arrived, for timings
    close: Callable[[], None] | None = None  # called once the batch is over (ends spans)


class Processor(Protocol[T]):
    @property
    def transient(self) -> tuple[type[Exception], ...]:
        """The failures that rewind the partitions after the last attempt (a store that
        is down): they never dead-letter a message."""

    def decode(self, messages: Sequence[Message]) -> Decoded[T]:
        """The batch's items; what cannot be one is rejected (or left out: skipped)."""

    async def process_batch(self, batch: Decoded[T]) -> bool:
        """Every item at once: True; False when this processor takes one at a time."""

    async def process(self, message: Message, item: T, batch: Decoded[T]) -> bool:
        """One item; True when its offset is to be committed at once (it had an effect
        outside, such as a webhook sent) rather than with the next throttled commit."""


@dataclass(frozen=True)
class DeliveryConfig:
    batch_max_records: int  # the most messages taken at once
    idle_poll_ms: int  # how long an idle poll waits (a record arriving ends it at once)
    max_attempts: int  # per message, before it is dead-lettered (or, transient, rewound)
    backoff: float  # the pause after the first failed attempt, doubling; after a rewind
    commit_every: float = 0.1  # seconds between commits while messages are being done
    commit_after: int = 1000  # ... or this many messages done, whichever comes first
    broker_pause: float = 5.0  # after a failed fetch
    stop_seconds: float = 5.0  # a batch under way at stop gets this long to finish

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.batch_max_records < 1:
            raise ValueError("max_attempts and batch_max_records must be at least 1")


@dataclass
class PartitionState:
    """What the loop last did from one partition, and how far behind it is."""

    offset: int = -1  # the last offset done (its effects stored)
    high_water: int = 0  # the partition's end offset when it was last fetched
    position: int = 0  # the furthest source position done (Decoded.positions)

    @property
    def lag(self) -> int:
        return max(self.high_water - self.offset - 1, 0)


def _where(message: Message) -> str:
    return f"{message.topic}:{message.partition}:{message.offset}"


class DeliveryLoop(Generic[T]):
    def __init__(
        self,
        consumer: Consumer,
        processor: Processor[T],
        config: DeliveryConfig,
        *,
        name: str = "delivery",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._processor = processor
        self._config = config
        self._name = name
        self._sleep = sleep
        self._clock = clock
        self.processed = 0
        self.dead_lettered = 0
        self.batches = 0
        self.first_batch_at: datetime | None = None  # when the first batch arrived
        self.last_stored_at: datetime | None = None  # when the last batch was done
        self.partitions: dict[int, PartitionState] = {}
        self._uncommitted: set[int] = set()  # partitions done past their last commit
        self._done_since_commit = 0
        self._committed_at = clock()
        self._task: asyncio.Task[None] | None = None
        self._running = False

    @property
    def running(self) -> bool:
        """Its loop is alive (started and not ended): what liveness asks."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        await self._consumer.start(self.commit_stored)  # what is done stays done on revoke
        self._running = True
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Let the batch under way finish (bounded), commit what is done, leave the group."""
        self._running = False
        if self._task is not None:
            _, stuck = await asyncio.wait({self._task}, timeout=self._config.stop_seconds)
            for task in stuck:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self.commit_stored()
        await self._consumer.stop()

    async def _run(self) -> None:
        while self._running and await self.step():
            pass

    async def step(self) -> bool:
        """One poll and what it brought, then a commit when one is due; False once the
        consumer is closed."""
        cfg = self._config
        # with offsets done but not committed, wake up in time to commit them
        wait_ms = int(cfg.commit_every * 1000) if self._uncommitted else cfg.idle_poll_ms
        try:
            messages = await self._consumer.poll(wait_ms, cfg.batch_max_records)
        except ConsumerClosedError:
            return False
        except BrokerError:
            log.exception("%s: fetch failed; pausing", self._name)
            await self._sleep(cfg.broker_pause)
            return True
        if messages:
            try:
                await self._deliver(messages)
            except Exception:
                # not done: fetch it again (nothing after it is skipped)
                log.exception("%s: batch of %d not done; again", self._name, len(messages))
                self._rewind(messages)
                await self._sleep(cfg.backoff)
        due = self._clock() - self._committed_at >= cfg.commit_every
        many = self._done_since_commit >= cfg.commit_after
        if self._uncommitted and (due or many or not messages):
            await self.commit_stored()
        return True

    async def commit_stored(self) -> None:
        """Commit, per partition, the offset after the last message done."""
        if not self._uncommitted:
            return
        offsets = {p: self.partitions[p].offset + 1 for p in sorted(self._uncommitted)}
        self._uncommitted.clear()
        self._done_since_commit = 0
        self._committed_at = self._clock()
        try:
            await self._consumer.commit(offsets)
        except BrokerError:
            # a rebalance took the partitions: their new owner redelivers from the last
            # commit (the projector skips what is stored by version)
            log.warning("%s: offset commit failed; redelivered", self._name, exc_info=True)

    async def _deliver(self, messages: Sequence[Message]) -> None:
        self.first_batch_at = self.first_batch_at or datetime.now(UTC)
        batch = self._processor.decode(messages)
        try:
            for message, error in batch.rejected:
                await self._dead_letter(message, error)
            if not await self._process(batch):
                return
        finally:
            if batch.close is not None:
                batch.close()
        self.processed += len(batch.items)
        self.batches += 1
        self.last_stored_at = datetime.now(UTC)
        self._done(messages, batch.positions)

    async def _process(self, batch: Decoded[T]) -> bool:
        """Every item; False when a transient failure rewound the partitions."""
        try:
            if await self._processor.process_batch(batch):
                return True
        except Exception:
            log.warning("%s: batch failed; one at a time", self._name, exc_info=True)
        for index, (message, item) in enumerate(batch.items):
            try:
                at_once = await self._attempts(message, item, batch)
            except self._processor.transient:
                self._rewind([m for m, _ in batch.items[index:]])
                return False
            if at_once:
                self._done((message,), {})
                await self.commit_stored()
        return True

    async def _attempts(self, message: Message, item: T, batch: Decoded[T]) -> bool:
        """Process one item with retries; dead-letter it after the last attempt, unless
        the failure is transient (raised: the caller rewinds)."""
        cfg = self._config
        for attempt in range(1, cfg.max_attempts + 1):
            try:
                return await self._processor.process(message, item, batch)
            except self._processor.transient:
                if attempt == cfg.max_attempts:
                    log.warning(
                        "%s: transient failure at %s; rewinding", self._name, _where(message)
                    )
                    await self._sleep(cfg.backoff * 2 ** (attempt - 1))
                    raise
            except Exception as error:
                if attempt == cfg.max_attempts:
                    log.exception(
                        "%s: poison message %s; dead-lettering", self._name, _where(message)
                    )
                    await self._dead_letter(message, f"{type(error).__name__}: {error}")
                    return False
            await self._sleep(cfg.backoff * 2 ** (attempt - 1))
        raise AssertionError("max_attempts is at least 1")

    async def _dead_letter(self, message: Message, error: str) -> None:
        await self._consumer.dead_letter(message, error)
        self.dead_lettered += 1

    def _rewind(self, pending: Sequence[Message]) -> None:
        """Seek every partition back to its first message that is not done."""
        earliest: dict[int, int] = {}
        for message in pending:
            earliest[message.partition] = min(
                earliest.get(message.partition, message.offset), message.offset
            )
        for partition, offset in earliest.items():
            self._consumer.seek(partition, offset)

    def _done(self, messages: Sequence[Message], positions: dict[int, int]) -> None:
        states = self.partitions
        for message in messages:
            state = states.get(message.partition)
            if state is None:
                state = states[message.partition] = PartitionState()
            state.offset = max(state.offset, message.offset)
            self._uncommitted.add(message.partition)
        self._done_since_commit += len(messages)
        for partition, position in positions.items():
            states[partition].position = max(states[partition].position, position)
        for partition, state in states.items():
            found = self._consumer.high_water(partition)
            state.high_water = found if found is not None else state.high_water
