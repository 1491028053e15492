"""The consumer group's lag per partition, as the broker sees it: each partition's end
offset against the offset the group committed there (every replica together, unlike a
replica's own status, which knows only the partitions it holds)."""

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


async def consumer_lag(
    bootstrap: str, topic: str, group_id: str, timeout_s: float
) -> list[PartitionLag]:
    """One entry per partition of `topic`, read without joining the group."""
    timeout_ms = int(timeout_s * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=timeout_ms
    )
    try:
        await admin.start()
        await reader.start()
        described = await admin.describe_topics([topic])
        partitions = [
            TopicPartition(topic, p["partition"])
            for t in described
            if t.get("error_code", 0) == 0
            for p in t.get("partitions", [])
        ]
        if not partitions:
            return []
        ends = await reader.end_offsets(partitions)
        starts = await reader.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        with contextlib.suppress(Exception):
            await reader.stop()
        with contextlib.suppress(Exception):
            await admin.close()
    lags = []
    for tp in sorted(partitions, key=lambda p: p.partition):
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else None
        lag = ends[tp] - (done if done is not None else starts[tp])
        lags.append(PartitionLag(tp.partition, ends[tp], done, max(lag, 0)))
    return lags
