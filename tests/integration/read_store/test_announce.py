"""The change announcement against the real Redis: a change drops the cached document,
bumps its read model's generation and is published on the read model's and the
document's channels (with no event, nothing on the feed); forgetting a read model drops
every cached copy and says so on the rebuilt channel."""

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import ChangeNotification
from cqrs_read_store.announce import RedisNotifier, forget_cached


async def published(pubsub: Any, count: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    async with asyncio.timeout(5):
        while sum(map(len, found.values())) < count:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None:
                found.setdefault(msg["channel"], []).append(msg["data"])
    return found


async def test_a_change_drops_the_cache_and_is_published_on_both_channels(
    redis_client: Redis, run_id: str
) -> None:
    prefix, doc_id = f"test:{run_id}:a{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    cached = ch.cached_doc(prefix, "UserReadModel", doc_id)
    gen = ch.generation(prefix, "UserReadModel")
    await redis_client.set(cached, '{"stale": true}')
    await redis_client.set(gen, 7)
    channels = [
        ch.read_model_channel(prefix, "UserReadModel"),
        ch.document_channel(prefix, "UserReadModel", doc_id),
        ch.events_channel(prefix),
    ]
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(*channels)
    note = ChangeNotification(
        read_model="UserReadModel", id=doc_id, version=2, position=0, data={"id": doc_id}
    )
    try:
        await RedisNotifier(redis_client, prefix).published_many([note], [])
        await redis_client.publish(channels[2], "after")  # a subscriber gets them in order
        got = await published(pubsub, 3)
    finally:
        await pubsub.aclose()

    assert await redis_client.get(cached) is None
    assert await redis_client.get(gen) == "8"
    for channel in channels[:2]:
        assert [ChangeNotification.model_validate_json(m) for m in got[channel]] == [note]
    assert got[channels[2]] == ["after"]  # nothing on the event feed: no event behind it


async def test_forgetting_a_read_model_drops_every_cached_copy(
    redis_client: Redis, run_id: str
) -> None:
    prefix = f"test:{run_id}:f{uuid.uuid4().hex[:8]}"
    keys = [ch.cached_doc(prefix, "OrderReadModel", f"o-{n}") for n in range(3)]
    kept = ch.cached_doc(prefix, "UserReadModel", "u-1")
    for key in [*keys, kept]:
        await redis_client.set(key, "{}")
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(ch.rebuilt_channel(prefix))
    try:
        assert await forget_cached(redis_client, prefix, ["OrderReadModel"]) == 3
        got = await published(pubsub, 1)
    finally:
        await pubsub.aclose()
    assert [await redis_client.get(k) for k in keys] == [None] * 3
    assert await redis_client.get(kept) == "{}"
    assert got == {ch.rebuilt_channel(prefix): ["OrderReadModel"]}
