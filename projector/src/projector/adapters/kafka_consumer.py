"""The consumer port on aiokafka: one topic, one consumer group, long-polled (a fetch
returns as soon as records arrive), offsets committed only when the loop says; records
are handed over as aiokafka fetched them (no copy per message)."""

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import ConsumerStoppedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from projector.adapters.dead_letters import DeadLetterTopic
from projector.application.consumer import BrokerError, ConsumerClosedError, Message

log = logging.getLogger("projector.consumer")
# how long the broker holds a fetch while there is nothing new (it answers at once when
# records arrive): an idle consumer then makes one fetch per this, not two a second
FETCH_WAIT_MS = 2000


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_revoked: Callable[[], Awaitable[None]]) -> None:
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))
        await self._on_revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


class KafkaConsumer:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        *,
        client_id: str,
        dead_letters: DeadLetterTopic | None = None,
        **options: Any,
    ) -> None:
        """`dead_letters`: where dead letters go (None: logged and dropped); `options`
        go to AIOKafkaConsumer (max_poll_interval_ms, say)."""
        self._settings = {
            "bootstrap_servers": bootstrap,
            "group_id": group_id,
            "client_id": client_id,
            "auto_offset_reset": "earliest",
            "enable_auto_commit": False,
            "fetch_max_wait_ms": FETCH_WAIT_MS,
            **options,
        }
        self._topic = topic
        self._dead_letters = dead_letters
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self, on_revoked: Callable[[], Awaitable[None]]) -> None:
        consumer = AIOKafkaConsumer(**self._settings)
        consumer.subscribe([self._topic], listener=_Rebalance(on_revoked))
        await consumer.start()
        self._consumer = consumer

    async def poll(self, timeout_ms: int, max_records: int) -> Sequence[Message]:
        consumer = self._consumer
        if consumer is None:
            raise ConsumerClosedError(self._topic)
        try:
            fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        except ConsumerStoppedError as stopped:
            raise ConsumerClosedError(self._topic) from stopped
        except KafkaError as failed:
            raise BrokerError(str(failed)) from failed
        return tuple(chain.from_iterable(fetched.values()))

    def seek(self, partition: int, offset: int) -> None:
        if self._consumer is not None:
            with contextlib.suppress(KafkaError):  # not ours any more: its owner goes on
                self._consumer.seek(TopicPartition(self._topic, partition), offset)

    async def commit(self, offsets: Mapping[int, int]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        ours = {
            tp: OffsetAndMetadata(offset, "")
            for partition, offset in offsets.items()
            if (tp := TopicPartition(self._topic, partition)) in assigned
        }
        if not ours:
            return
        try:
            await consumer.commit(ours)
        except KafkaError as failed:
            raise BrokerError(str(failed)) from failed

    def high_water(self, partition: int) -> int | None:
        """The partition's end as last fetched; None when unknown or not ours (a rebalance
        took it: aiokafka asserts on a partition it is not assigned)."""
        consumer = self._consumer
        tp = TopicPartition(self._topic, partition)
        if consumer is None or tp not in consumer.assignment():
            return None
        found: int | None = consumer.highwater(tp)
        return found

    async def dead_letter(self, message: Message, error: str) -> None:
        if self._dead_letters is None:
            log.error(
                "dropped %s:%s:%s: %s", message.topic, message.partition, message.offset, error
            )
            return
        try:
            await self._dead_letters.send(message, error)
        except KafkaError as failed:
            raise BrokerError(str(failed)) from failed

    async def stop(self) -> None:
        consumer = self._consumer
        if consumer is not None:
            await consumer.stop()
            self._consumer = None
