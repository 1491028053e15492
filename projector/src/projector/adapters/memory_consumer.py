"""The consumer port in memory: a topic whose partitions are lists, consumer groups that
resume from their commits, dead letters kept in a list. It passes the same contract
tests as the Kafka adapter, so the delivery loop can be tested against it."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from projector.application.consumer import BrokerError, ConsumerClosedError, Message


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


class MemoryTopic:
    """What the consumers of one topic share: its records, each group's committed
    offsets and the dead letters."""

    def __init__(self, name: str = "events", partitions: int = 1) -> None:
        self.name = name
        self.records: list[list[Record]] = [[] for _ in range(partitions)]
        self.committed: dict[str, dict[int, int]] = {}
        self.dead_letters: list[tuple[Message, str]] = []
        self._arrived = asyncio.Event()

    def publish(
        self,
        value: bytes | None,
        *,
        partition: int = 0,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> Record:
        log = self.records[partition]
        record = Record(
            self.name, partition, len(log), int(time.time() * 1000), key, value, headers
        )
        log.append(record)
        self._arrived.set()  # wake every poll waiting
        self._arrived = asyncio.Event()
        return record

    async def arrival(self, timeout_ms: int) -> None:
        """Wait until a record is published, at most `timeout_ms`."""
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_ms / 1000)
        except TimeoutError:
            return


class MemoryConsumer:
    """The only member of its group: every partition is its own. `broken` makes the
    broker fail (polls, commits and dead letters raise BrokerError); `commits` lists
    every commit made, in order."""

    def __init__(self, topic: MemoryTopic, group_id: str = "group") -> None:
        self.topic = topic
        self.group_id = group_id
        self.broken = False
        self.commits: list[dict[int, int]] = []
        self._positions: dict[int, int] | None = None  # None: not started, or stopped
        self._high_water: dict[int, int] = {}
        self._on_revoked: Callable[[], Awaitable[None]] | None = None

    async def start(self, on_revoked: Callable[[], Awaitable[None]]) -> None:
        committed = self.topic.committed.get(self.group_id, {})
        self._positions = {p: committed.get(p, 0) for p in range(len(self.topic.records))}
        self._on_revoked = on_revoked

    async def poll(self, timeout_ms: int, max_records: int) -> Sequence[Message]:
        if self._positions is None:
            raise ConsumerClosedError(self.topic.name)
        if self.broken:
            raise BrokerError("broker down")
        if not self._pending():
            await self.topic.arrival(timeout_ms)
            if self._positions is None:
                raise ConsumerClosedError(self.topic.name)
        found: list[Message] = []
        for partition, log in enumerate(self.topic.records):
            start = self._positions[partition]
            taken = log[start : start + max_records - len(found)]
            found.extend(taken)
            self._positions[partition] = start + len(taken)
            self._high_water[partition] = len(log)
        return found

    def seek(self, partition: int, offset: int) -> None:
        if self._positions is not None:
            self._positions[partition] = offset

    async def commit(self, offsets: Mapping[int, int]) -> None:
        if self._positions is None:
            return
        if self.broken:
            raise BrokerError("broker down")
        self.commits.append(dict(offsets))
        self.topic.committed.setdefault(self.group_id, {}).update(offsets)

    def high_water(self, partition: int) -> int | None:
        return self._high_water.get(partition)

    async def dead_letter(self, message: Message, error: str) -> None:
        if self.broken:
            raise BrokerError("broker down")
        self.topic.dead_letters.append((message, error))

    async def stop(self) -> None:
        self._positions = None

    async def revoke(self) -> None:
        """What a rebalance does before this member's partitions go elsewhere."""
        if self._on_revoked is not None:
            await self._on_revoked()

    def _pending(self) -> bool:
        assert self._positions is not None
        return any(self._positions[p] < len(log) for p, log in enumerate(self.topic.records))
