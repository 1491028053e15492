"""At-least-once under a real crash: `command-service relay` is SIGKILLed between
publishing a batch to Kafka and committing the delete of its outbox rows (a trigger
makes that delete slow enough to land in), restarted, and Kafka ends up with every
event (that batch twice, nothing lost) and each stream's events in version order."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.adapters.write_store import SqlWriteStore
from command_service.domain.decisions import StreamChange
from cqrs_contracts.envelopes import EventMetadata
from cqrs_contracts.events import UserCreated, UserUpdated
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import (
    kafka_headers,
    outbox_count,
    read_topic,
    topic_size,
)
from tests.support.polling import eventually
from tests.support.services import ROOT, Endpoints

STREAMS, PER_STREAM = 100, 15  # 1500 events
RELAY = [str(Path(sys.executable).with_name("command-service")), "relay"]
SLOW_DELETE = (
    "CREATE TRIGGER slow_outbox_delete BEFORE DELETE ON outbox FOR EACH ROW DO SLEEP(0.02)"
)


def user_stream(now: datetime) -> StreamChange:
    uid = str(uuid.uuid4())
    created = UserCreated(user_id=uid, name="Crash", email=f"{uid}@example.com", created_at=now)
    updates = (UserUpdated(user_id=uid, age=20 + i, updated_at=now) for i in range(PER_STREAM - 1))
    return StreamChange("user", uid, (created, *updates))


async def fill_outbox(engine: AsyncEngine, topic: str) -> set[str]:
    """STREAMS streams of PER_STREAM events, written straight through the write store."""
    store, now = SqlWriteStore(engine, topic, snapshot_every=0), datetime.now(UTC)
    stored: set[str] = set()
    for _ in range(STREAMS // 10):
        async with store.session() as session:
            changes = tuple(user_stream(now) for _ in range(10))
            events = await session.append(changes, EventMetadata(actor="crash-test"), now)
        stored |= {e.event_id for e in events}
    return stored


@pytest.fixture
async def engine(private_store: PrivateStore) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(private_store.url)
    yield engine
    await engine.dispose()


def start_relay(store: PrivateStore, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | store.env | {"CQRS__COMMAND_SERVICE__RELAY_BATCH_SIZE": "50"}
    with log.open("ab") as out:
        return subprocess.Popen(RELAY, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def test_a_killed_relay_loses_nothing_after_restart(
    private_store: PrivateStore, engine: AsyncEngine, endpoints: Endpoints, tmp_path: Path
) -> None:
    stored = await fill_outbox(engine, private_store.topic)
    total = len(stored)
    assert total == STREAMS * PER_STREAM
    assert await outbox_count(engine) == total
    log = tmp_path / "relay.log"
    async with engine.begin() as conn:  # each deleted outbox row takes 20 ms
        await conn.execute(text(SLOW_DELETE))

    first = start_relay(private_store, log)
    try:

        async def published_not_deleted() -> bool:
            assert first.poll() is None, log.read_text()
            return await topic_size(endpoints.kafka_brokers, private_store.topic) > 0

        await eventually(published_not_deleted, timeout=60, what="a batch on Kafka", interval=0.01)
        first.kill()  # SIGKILL mid-delete: no clean-up, no release of anything
        first.wait(timeout=10)
    finally:
        stop(first)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER slow_outbox_delete"))
    left = await outbox_count(engine)
    on_topic = await topic_size(endpoints.kafka_brokers, private_store.topic)
    assert on_topic > 0
    assert left == total, f"the kill must land before the delete committed: {left} of {total}"

    second = start_relay(private_store, log)
    try:

        async def all_sent() -> bool:
            assert second.poll() is None, log.read_text()
            return await outbox_count(engine) == 0

        await eventually(all_sent, timeout=120, what="the restarted relay to empty the outbox")
    finally:
        stop(second)

    records = await read_topic(endpoints.kafka_brokers, private_store.topic, within=60)
    ids = [kafka_headers(r)["event-id"] for r in records]
    assert set(ids) == stored  # nothing lost (and nothing foreign)
    assert len(ids) >= total + on_topic  # the batch in flight at the kill was sent again
    first_seen: dict[str, list[int]] = {}
    seen: set[str] = set()
    for record, event_id in zip(records, ids, strict=True):
        if event_id not in seen:
            seen.add(event_id)
            version = json.loads(record.value)["version"]
            first_seen.setdefault(record.key.decode(), []).append(version)
    assert len(first_seen) == STREAMS
    for key, versions in first_seen.items():
        assert versions == list(range(1, PER_STREAM + 1)), f"stream {key} out of order: {versions}"
    print(f"killed with {left}/{total} in the outbox; {len(ids) - total} duplicates on the topic")
