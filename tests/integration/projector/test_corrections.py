"""An admin correction POSTed to the projector's app is written by the projector's own
writer (compare-and-set: each correction a new revision) and announced like an event's
change: the cached copy is dropped and both channels hear it, so every query replica's
WebSocket clients do; a deletion too."""

import asyncio
import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import ChangeNotification, UserReadModel
from cqrs_contracts.settings import Settings
from cqrs_read_store.codec import make_client
from cqrs_read_store.writer import ViewStore

READ_MODELS = "/api/v1/cqrs/read-models"


async def heard(pubsub: Any, doc_id: str, count: int) -> dict[str, list[ChangeNotification]]:
    """The changes of `doc_id` by channel, until its document channel had `count` (each
    change goes out on the read model's channel first, so that one has them all too)."""
    found: dict[str, list[ChangeNotification]] = {}
    async with asyncio.timeout(5):
        while len(found.get(f"{doc_id}:doc", [])) < count:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is None:
                continue
            note = ChangeNotification.model_validate_json(msg["data"])
            if note.id == doc_id:
                doc_channel = msg["channel"].endswith(doc_id)
                found.setdefault(f"{doc_id}:doc" if doc_channel else "model", []).append(note)
    return found


async def test_a_correction_is_applied_by_the_projector_and_announced(
    projector_admin: AsyncTestClient, projector_settings: Settings, redis_client: Redis
) -> None:
    prefix, doc_id = projector_settings.redis.prefix, f"user-{uuid.uuid4().hex[:12]}"
    cached = ch.cached_doc(prefix, "UserReadModel", doc_id)
    channels = [
        ch.read_model_channel(prefix, "UserReadModel"),
        ch.document_channel(prefix, "UserReadModel", doc_id),
    ]
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(*channels)
    body: dict[str, Any] = {
        "type": "UserReadModel",
        "data": {"id": doc_id, "name": "Fixed", "versions": {}},
    }
    try:
        await redis_client.set(cached, '{"stale": true}')
        saved = await projector_admin.post(READ_MODELS, json=body)
        assert saved.status_code == 200, saved.text
        assert await redis_client.get(cached) is None
        await redis_client.set(cached, '{"stale": true}')
        again = await projector_admin.post(
            READ_MODELS, json={**body, "data": {**body["data"], "name": "Fixed again"}}
        )
        removed = await projector_admin.delete(
            f"{READ_MODELS}/{doc_id}", params={"type": "UserReadModel"}
        )
        got = await heard(pubsub, doc_id, 3)
    finally:
        await pubsub.aclose()

    assert (saved.json()["revision"], again.json()["revision"]) == (1, 2)
    assert removed.json() == {"deleted": doc_id, "type": "UserReadModel"}
    assert await redis_client.get(cached) is None
    names = [n.data["name"] if n.data else None for n in got[f"{doc_id}:doc"]]
    assert names == ["Fixed", "Fixed again", None]
    assert got["model"] == got[f"{doc_id}:doc"]
    mongo = projector_settings.database.mongodb
    client = make_client(mongo)
    try:
        assert await ViewStore(client[mongo.database]).load(UserReadModel, doc_id) == (None, 0)
    finally:
        await client.close()
