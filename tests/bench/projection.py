"""Projection rate: events/s of the live projector draining the topic, and of a rebuild
replaying the event store, against a bare aiokafka consumer that does the same bulk
upserts (a user document and a user-orders document per event) into the same read store.

Every run starts from the same stored events; the live projector and the baseline each
read the whole topic with a consumer group of their own into a read-store database of
their own, and are timed from their first event to their last."""

import asyncio
import json
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient, UpdateOne
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from projector.bootstrap import build, close, make_rebuild
from tests.bench import cpu
from tests.bench.load import Result
from tests.bench.system import BenchSystem
from tests.support.settings import settings_for

LIMIT_SECONDS = 600


async def stored_events(system: BenchSystem) -> int:
    engine = create_async_engine(system.mysql_url)
    async with engine.connect() as conn:
        count = int((await conn.execute(text("SELECT COUNT(*) FROM events"))).scalar_one())
    await engine.dispose()
    return count


async def seed(command_url: str, total: int, concurrency: int = 16) -> None:
    """`total` CreateUser commands, when the write benchmarks did not leave enough events."""
    async with httpx.AsyncClient(base_url=command_url, timeout=30) as client:
        queue = iter(range(total))

        async def worker() -> None:
            for _ in queue:
                body = {"name": "Seed", "email": f"s-{uuid.uuid4().hex[:12]}@bench.io", "age": 30}
                await client.post(
                    "/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _result(events: int, seconds: float) -> Result:
    per_event_ms = seconds * 1000 / events if events else 0.0
    return Result(events, 0, seconds, per_event_ms, per_event_ms)


Metered = tuple[Result, dict[str, float], int]  # the run, CPU seconds per group, events metered


async def live(system: BenchSystem, events: int, groups: cpu.Groups) -> Metered:
    """A fresh projector process (own group, own read store) drains the whole topic. Its
    CPU is metered from when it answers /health (start-up excluded) to the last event, over
    the events it processed in that window."""
    tag = uuid.uuid4().hex[:6]
    process = await system.start(
        "projector",
        KAFKA_GROUP_ID=f"projector-bench-live-{tag}",
        MONGODB_DB=f"cqrs_bench_{system.run}_live",
        CQRS__REDIS__PREFIX=f"bench:{system.run}:live",
    )
    groups.add("projector (live)", lambda: [process.proc.pid if process.proc else None])
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        with cpu.Meter(groups) as meter:
            status: dict[str, Any] = (await client.get("/api/v1/cqrs/projections")).json()
            before = status["processed"]
            while status["processed"] < events and time.perf_counter() - started < LIMIT_SECONDS:
                await asyncio.sleep(0.05)
                status = (await client.get("/api/v1/cqrs/projections")).json()
    # the projector's own clock, from its first batch arriving to its last one stored
    first, last = (datetime.fromisoformat(status[k]) for k in ("first_batch_at", "last_stored_at"))
    process.stop()
    await _drop(system, f"cqrs_bench_{system.run}_live")
    metered = status["processed"] - before
    return _result(status["processed"], (last - first).total_seconds()), meter.used, metered


async def rebuild(system: BenchSystem, groups: cpu.Groups) -> Metered:
    """A rebuild into a read-store database of its own (no settle pauses: nothing else
    writes there), timed over the replay itself."""
    settings = settings_for(system.env, MONGODB_DB=f"cqrs_bench_{system.run}_rebuild")
    container = build(settings)
    job = make_rebuild(container)
    job.settle_seconds = 0
    started = time.perf_counter()
    with cpu.Meter(groups) as meter:
        replayed = await job.run(lambda done, total: None, _nothing)
    seconds = time.perf_counter() - started
    await close(container)
    await _drop(system, settings.database.mongodb.database)
    return _result(replayed, seconds), meter.used, replayed


async def _drop(system: BenchSystem, database: str) -> None:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.endpoints.mongodb_uri)
    await mongo.drop_database(database)
    await mongo.close()


async def _nothing() -> None:
    return None


async def baseline(system: BenchSystem, events: int, groups: cpu.Groups) -> Metered:
    """A bare aiokafka consumer: per fetched batch, one bulk upsert per collection."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.endpoints.mongodb_uri)
    db = mongo[f"cqrs_bench_{system.run}_baseline"]
    consumer = AIOKafkaConsumer(
        system.env["KAFKA_TOPIC"],
        bootstrap_servers=system.endpoints.kafka_brokers,
        group_id=f"baseline-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    meter = cpu.Meter(groups).__enter__()
    await consumer.start()
    done, first_at = 0, 0.0
    started = time.perf_counter()
    try:
        while done < events and time.perf_counter() - started < LIMIT_SECONDS:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            records = [r for batch in batches.values() for r in batch]
            if not records:
                continue
            first_at = first_at or time.perf_counter()
            users, user_orders = [], []
            for record in records:
                event = json.loads(record.value)
                body = {"data": event["data"], "version": event["version"]}
                users.append(UpdateOne({"_id": event["stream_id"]}, {"$set": body}, upsert=True))
                user_orders.append(
                    UpdateOne({"_id": event["stream_id"]}, {"$set": body}, upsert=True)
                )
            await db["users"].bulk_write(users, ordered=False)
            await db["user_orders"].bulk_write(user_orders, ordered=False)
            await consumer.commit()
            done += len(records)
        ended = time.perf_counter()
        meter.__exit__()
    finally:
        await consumer.stop()
        await mongo.drop_database(db.name)
        await mongo.close()
    return _result(done, ended - first_at), meter.used, done
