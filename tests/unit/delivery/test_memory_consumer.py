"""The in-memory consumer passes the consumer port's contract (as the Kafka one does)."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from projector.adapters.memory_consumer import MemoryConsumer, MemoryTopic
from projector.application.consumer import Consumer
from tests.support.consumer_contract import PARTITIONS, ConsumerContract


@dataclass
class MemoryRig:
    memory: MemoryTopic
    made: list[MemoryConsumer] = field(default_factory=list)

    @property
    def topic(self) -> str:
        return self.memory.name

    async def publish(
        self,
        partition: int,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        self.memory.publish(value, partition=partition, key=key, headers=headers)

    def consumer(self, group_id: str) -> Consumer:
        self.made.append(MemoryConsumer(self.memory, group_id))
        return self.made[-1]

    async def dead_letters(self) -> list[tuple[str, str]]:
        return [
            (f"{m.topic}:{m.partition}:{m.offset}", error) for m, error in self.memory.dead_letters
        ]


class TestMemoryConsumer(ConsumerContract):
    @pytest.fixture
    async def rig(self) -> AsyncIterator[MemoryRig]:
        made = MemoryRig(MemoryTopic("events", PARTITIONS))
        yield made
        for consumer in made.made:
            await consumer.stop()
