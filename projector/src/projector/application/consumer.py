"""The consumer port: what a delivery loop needs from a Kafka consumer (one topic, one
consumer group, offsets committed only when told). The aiokafka adapter and the
in-memory one pass the same contract tests (tests/support/consumer_contract.py)."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol


class ConsumerClosedError(Exception):
    """The consumer was stopped: its loop ends."""


class BrokerError(Exception):
    """The broker failed a fetch, a commit or a dead letter; the message says why."""


class Message(Protocol):
    """One record as fetched (aiokafka's ConsumerRecord is one as it is: no copy)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int:
        """When the record was written, epoch milliseconds."""

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class Consumer(Protocol):
    async def start(self, on_revoked: Callable[[], Awaitable[None]]) -> None:
        """Join the group (from its committed offsets, else the earliest); `on_revoked`
        is awaited before partitions go to another member."""

    async def poll(self, timeout_ms: int, max_records: int) -> Sequence[Message]:
        """What has arrived, at most `max_records`, in offset order per partition; waits
        at most `timeout_ms` for a first record (returning as soon as one arrives).
        Raises ConsumerClosedError once stopped, BrokerError when the broker fails."""

    def seek(self, partition: int, offset: int) -> None:
        """The next poll of `partition` starts at `offset`; a partition no longer
        assigned is left alone (its new owner resumes from the committed offset)."""

    async def commit(self, offsets: Mapping[int, int]) -> None:
        """Commit, per partition, the offset the group resumes from (the one after the
        last message done); partitions no longer assigned are left out. Raises
        BrokerError."""

    def high_water(self, partition: int) -> int | None:
        """The partition's end offset as last fetched; None before any fetch."""

    async def dead_letter(self, message: Message, error: str) -> None:
        """Keep `message` aside with `error`, for an operator. Raises BrokerError when
        it could not be kept."""

    async def stop(self) -> None:
        """Leave the group; polls raise ConsumerClosedError from now on."""
