"""The consumer group's lag per partition, as the broker sees it: each partition's end
offset against the offset the group committed there (every replica together, unlike a
replica's own status, which knows only the partitions it holds); and how many messages a
topic holds (the dead letters).

`LagReader` keeps its two clients (an admin client and a consumer that never joins a
group) from its first read until `close()`: health, stats and every metrics scrape
reuse them. A read that fails drops them, and the next read connects again."""

import asyncio
import contextlib
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    end: int  # the offset the next message will get
    committed: int | None  # where the group resumes; None: it never committed here
    lag: int  # messages not yet committed by the group


class LagReader:
    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        self._bootstrap = bootstrap
        self._timeout_ms = int(timeout_s * 1000)
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None
        self._connecting = asyncio.Lock()

    async def _connected(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        async with self._connecting:
            if self._clients is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self._bootstrap, request_timeout_ms=self._timeout_ms
                )
                reader = AIOKafkaConsumer(
                    bootstrap_servers=self._bootstrap,
                    enable_auto_commit=False,
                    request_timeout_ms=self._timeout_ms,
                )
                try:
                    await admin.start()
                    await reader.start()
                except BaseException:
                    await _stop(admin, reader)
                    raise
                self._clients = (admin, reader)
            return self._clients

    async def close(self) -> None:
        clients, self._clients = self._clients, None
        if clients is not None:
            await _stop(*clients)

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        admin, _ = await self._connected()
        described = await admin.describe_topics([topic])
        found = [
            TopicPartition(topic, p["partition"])
            for t in described
            if t.get("error_code", 0) == 0
            for p in t.get("partitions", [])
        ]
        return sorted(found, key=lambda p: p.partition)

    async def lags(self, topic: str, group_id: str) -> list[PartitionLag]:
        """One entry per partition of `topic`, read without joining the group."""
        try:
            partitions = await self._partitions(topic)
            if not partitions:
                return []
            admin, reader = await self._connected()
            ends = await reader.end_offsets(partitions)
            starts = await reader.beginning_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        except BaseException:
            await self.close()  # the next read starts afresh
            raise
        lags = []
        for tp in partitions:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else None
            lag = ends[tp] - (done if done is not None else starts[tp])
            lags.append(PartitionLag(tp.partition, ends[tp], done, max(lag, 0)))
        return lags

    async def size(self, topic: str) -> int:
        """The messages `topic` holds now (0: it does not exist)."""
        try:
            partitions = await self._partitions(topic)
            if not partitions:
                return 0
            _, reader = await self._connected()
            ends = await reader.end_offsets(partitions)
            starts = await reader.beginning_offsets(partitions)
        except BaseException:
            await self.close()
            raise
        return sum(ends[tp] - starts[tp] for tp in partitions)


async def consumer_lag(
    bootstrap: str, topic: str, group_id: str, timeout_s: float
) -> list[PartitionLag]:
    """One read with clients of its own (a CLI, a test); services keep a `LagReader`."""
    reader = LagReader(bootstrap, timeout_s)
    try:
        return await reader.lags(topic, group_id)
    finally:
        await reader.close()


async def _stop(admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer) -> None:
    with contextlib.suppress(Exception):
        await reader.stop()
    with contextlib.suppress(Exception):
        await admin.close()
