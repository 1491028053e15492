"""After a chaos run: what the client was told against what the system holds.

Every number is counted from the stores themselves (event store, command log, outbox,
the Kafka topic, the read store) and from the client's own record of each command. The
event store may be on several shards: every reader of it takes one engine or every
shard's, by shard number, and counts over them all."""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.read_models import UserReadModel
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.tables import command_log, events, outbox
from cqrs_read_store.writer import ViewStore
from projector.application.consistency import Report, check
from tests.chaos.load import Sent

Engines = AsyncEngine | Sequence[AsyncEngine]  # one event store's shards, by number


def _shards(store: Engines) -> list[AsyncEngine]:
    return [store] if isinstance(store, AsyncEngine) else list(store)


@dataclass
class Numbers:
    sent: int = 0  # logical commands (one idempotency key each)
    accepted: int = 0  # answered 2xx in the end
    rejected: int = 0  # answered a final 4xx (none expected)
    gave_up: int = 0  # still failing after the client's retry budget
    retried: int = 0  # commands that needed more than one attempt
    failed_attempts: int = 0  # attempts that met an error or a broken connection
    found: int = 0  # accepted commands with all their events in the event store
    events: int = 0  # rows in the event store
    foreign_events: int = 0  # events no accepted answer names (a key applied twice)
    duplicate_keys: int = 0  # idempotency keys with more than one applied command
    streams: int = 0
    streams_not_dense: int = 0  # version gaps or repeats
    lost_updates: int = 0  # per aggregate: accepted updates minus update events, summed
    outbox_left: int = 0
    on_topic: int = 0  # records on the Kafka topic (duplicates allowed)
    missing_from_topic: int = 0
    documents: int = 0  # read-model documents compared with a clean rebuild
    mismatches: int = 0
    missing: int = 0
    extra: int = 0
    queried: int = 0  # users read back through the query-service at the end
    stale_answers: int = 0  # ... whose answer differs from the read store

    def table(self) -> str:
        width = max(len(f.name) for f in fields(self))
        rows = [
            f"  {f.name.replace('_', ' '):<{width}}  {getattr(self, f.name):>8}"
            for f in fields(self)
        ]
        return "\n".join(["chaos run numbers:", *rows])


def from_client(numbers: Numbers, sent: list[Sent]) -> None:
    numbers.sent = len(sent)
    numbers.accepted = sum(s.accepted for s in sent)
    numbers.rejected = sum(s.status is not None and not s.accepted for s in sent)
    numbers.gave_up = sum(s.status is None for s in sent)
    numbers.retried = sum(s.attempts > 1 for s in sent)
    numbers.failed_attempts = sum(len(s.failures) for s in sent)


async def from_event_store(numbers: Numbers, store: Engines, sent: list[Sent]) -> None:
    accepted = [s for s in sent if s.accepted]
    keys = [s.key for s in sent]
    rows: list[Any] = []
    logged: list[Any] = []
    numbers.outbox_left = 0
    for engine in _shards(store):
        async with engine.connect() as conn:
            rows += (
                await conn.execute(
                    select(events.c.event_id, events.c.stream_id, events.c.version, events.c.type)
                )
            ).all()
            logged += (
                await conn.execute(
                    select(command_log.c.idempotency_key, command_log.c.command_id).where(
                        command_log.c.status == "accepted",
                        command_log.c.idempotency_key.in_(keys),
                    )
                )
            ).all()
            left = await conn.scalar(select(func.count()).select_from(outbox))
            numbers.outbox_left += int(left or 0)
    stored = {r.event_id for r in rows}
    answered = {e for s in accepted for e in s.event_ids}
    applied = Counter(r.idempotency_key for r in logged)
    numbers.events = len(rows)
    numbers.found = sum(bool(s.event_ids) and set(s.event_ids) <= stored for s in accepted)
    numbers.foreign_events = len(stored - answered)
    numbers.duplicate_keys = sum(count > 1 for count in applied.values())
    versions: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        versions[row.stream_id].append(row.version)
    numbers.streams = len(versions)
    numbers.streams_not_dense = sum(
        sorted(v) != list(range(1, len(v) + 1)) for v in versions.values()
    )
    numbers.lost_updates = _lost_updates(rows, accepted)


def _lost_updates(rows: Sequence[Any], accepted: list[Sent]) -> int:
    """Each accepted UpdateUser is one UserUpdated on its user; each accepted payment is
    one OrderUpdated on its order: count every difference."""
    asked: Counter[str] = Counter()
    for s in accepted:
        if s.type == "UpdateUser":
            asked[s.data["user_id"]] += 1
        elif s.type == "ProcessPayment":
            asked[s.data["order_id"]] += 1
    done = Counter(r.stream_id for r in rows if r.type in ("UserUpdated", "OrderUpdated"))
    return sum(abs(asked[k] - done[k]) for k in asked.keys() | done.keys())


async def from_topic(numbers: Numbers, brokers: str, topic: str, stored: set[str]) -> None:
    """Read the topic from the start to its end offsets: every stored event on it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=brokers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: list[str] = []
        while any([await consumer.position(p) < end for p, end in ends.items()]):
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                seen += [dict(r.headers).get("event-id", b"").decode() for r in records]
    finally:
        await consumer.stop()
    numbers.on_topic = len(seen)
    numbers.missing_from_topic = len(stored - set(seen))


async def stored_event_ids(store: Engines) -> set[str]:
    found: set[str] = set()
    for engine in _shards(store):
        async with engine.connect() as conn:
            found |= set((await conn.execute(select(events.c.event_id))).scalars())
    return found


async def outbox_left(store: Engines) -> list[int]:
    """Rows still in each shard's outbox."""
    left = []
    for engine in _shards(store):
        async with engine.connect() as conn:
            left.append(int(await conn.scalar(select(func.count()).select_from(outbox)) or 0))
    return left


def revealing_reader(store: Engines, privacy: PrivacySettings) -> EventReader:
    """The event store (every shard, on its primary) as the projector reads it: personal
    fields revealed with the system's master key (a replay of sealed values would differ
    from every document)."""
    engines = _shards(store)
    keys = KeyRing(engines, master_key_from(privacy), privacy.key_cache_ttl)
    return EventReader(ShardRouters.from_engines(engines), keys)


async def from_read_models(
    numbers: Numbers, views: ViewStore, store: Engines, privacy: PrivacySettings
) -> Report:
    report = await check(views, revealing_reader(store, privacy))
    numbers.documents = report.documents
    numbers.mismatches = len(report.different)
    numbers.missing = len(report.missing)
    numbers.extra = len(report.extra)
    return report


async def hot_totals(store: Engines, order_ids: list[str]) -> dict[str, Decimal]:
    """The paid amount of each hot order, as its last event (on its shard) says."""
    query = (
        select(events.c.stream_id, events.c.data)
        .where(events.c.stream_id.in_(order_ids), events.c.type == "OrderUpdated")
        .order_by(events.c.version)
    )
    last: dict[str, Decimal] = {}
    for engine in _shards(store):
        async with engine.connect() as conn:
            for row in await conn.execute(query):
                if row.data.get("paid_amount") is not None:
                    last[row.stream_id] = Decimal(str(row.data["paid_amount"]))
    return last


async def from_query_service(
    numbers: Numbers, url: str, views: ViewStore, user_ids: list[str]
) -> None:
    """GetUser through the query-service (cache included) against the read store."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for user_id in user_ids:
            doc, _ = await views.load(UserReadModel, user_id)
            body = {"type": "GetUser", "data": {"id": user_id}}
            answer = await client.post("/api/v1/cqrs/queries", json=body)
            numbers.queried += 1
            if answer.status_code != 200 or not isinstance(doc, UserReadModel):
                numbers.stale_answers += 1
                continue
            found = answer.json()["result"]
            numbers.stale_answers += (found["name"], found["versions"]) != (doc.name, doc.versions)


def differences(report: Report, limit: int = 3) -> list[str]:
    """Each differing document as the fields where the store and the rebuild disagree."""
    said = []
    for diff in report.different[:limit]:
        have, want = diff["store"] or {}, diff["rebuild"] or {}
        fields_ = sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))
        shown = {k: {"store": have.get(k), "rebuild": want.get(k)} for k in fields_}
        said.append(f"{diff['doc']}: {shown}")
    return said


def read_store(uri: str, database: str) -> tuple[AsyncMongoClient[Any], ViewStore]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    return client, ViewStore(client[database])
