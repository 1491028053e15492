"""After a read model changed, the projector drops its cache entry, bumps the list
generation and tells subscribers on Redis (per document, per read model, event feed)."""

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification
from cqrs_contracts.settings import Settings
from cqrs_event_store.reader import EventReader
from cqrs_read_store.announce import RedisNotifier
from cqrs_read_store.writer import ViewStore
from projector.application.projector import Projector


def user_created(uid: str, position: int) -> EventEnvelope:
    now = datetime.now(UTC)
    data = {"user_id": uid, "name": "Ada", "email": f"{uid}@x.io", "age": 36}
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        position=position,
        stream_type="user",
        stream_id=uid,
        version=1,
        type="UserCreated",
        schema_version=2,
        data={**data, "created_at": now.isoformat()},
        occurred_at=now,
    )


async def messages(pubsub, count: int, within: float = 5.0) -> dict[str, list[str]]:
    """The next `count` published messages, by channel."""
    found: dict[str, list[str]] = {}
    async with asyncio.timeout(within):
        while sum(map(len, found.values())) < count:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None:
                found.setdefault(msg["channel"], []).append(msg["data"])
    return found


async def test_a_change_invalidates_the_cache_and_is_published(
    redis_client: Redis,
    run_id: str,
    event_source: EventReader,
    view_stores: Callable[[], ViewStore],
) -> None:
    prefix, uid = f"test:{run_id}:n{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    cache, gen = f"{prefix}:cache:UserReadModel:{uid}", f"{prefix}:cache:gen:UserReadModel"
    await redis_client.set(cache, '{"stale": true}')
    await redis_client.set(gen, 41)
    doc_channel, feed = f"{prefix}:rm:UserReadModel:{uid}", f"{prefix}:events"
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(doc_channel, f"{prefix}:rm:UserReadModel", feed)
    envelope = user_created(uid, position=987_654)
    projector = Projector(
        views=[view_stores()],
        history=event_source,
        notifier=RedisNotifier(redis_client, prefix),
    )
    try:
        await projector.handle(envelope)
        got = await messages(pubsub, 3)
    finally:
        await pubsub.aclose()

    note = ChangeNotification.model_validate_json(got[doc_channel][0])
    assert (note.read_model, note.id, note.version, note.position) == (
        "UserReadModel",
        uid,
        1,
        987_654,
    )
    assert note.data is not None
    assert (note.data["id"], note.data["name"], note.data["versions"]) == (uid, "Ada", {uid: 1})
    assert got[f"{prefix}:rm:UserReadModel"] == got[doc_channel]
    assert json.loads(got[feed][0])["event_id"] == envelope.event_id
    assert await redis_client.exists(cache) == 0
    assert await redis_client.get(gen) == "42"
    assert await redis_client.get(f"{prefix}:cache:gen:UserOrderReadModel") == "1"


async def test_a_change_from_the_topic_carries_its_stage_timings(
    redis_client: Redis,
    commands: AsyncTestClient,
    projector_admin: AsyncTestClient,
    projector_settings: Settings,
) -> None:
    """Through the real consumer: the Kafka record's timestamp, when the projector took
    the batch, when its read models were stored; in that order."""
    channel = f"{projector_settings.redis.prefix}:rm:UserReadModel"
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(channel)
    try:
        body = {"name": "Ada", "email": f"{uuid.uuid4().hex}@x.io", "age": 36}
        answer = await commands.post(
            "/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
        )
        assert answer.status_code == 200, answer.text
        uid = answer.json()["aggregate_id"]
        note = None
        async with asyncio.timeout(30):
            while note is None:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is not None:
                    seen = ChangeNotification.model_validate_json(msg["data"])
                    note = seen if seen.id == uid else None
    finally:
        await pubsub.aclose()

    assert note.timings is not None
    assert set(note.timings) == {"kafka", "received", "stored"}
    assert note.timings["kafka"] <= note.timings["received"] <= note.timings["stored"]
