"""Crypto-shredding on the projector, over a real event store (data keys in MariaDB), the
real read store and Redis: events whose personal fields are sealed are projected in
plaintext; after the user's key is destroyed and their UserForgotten event projected,
both user documents read as erased, the Redis copies of them (list pages, time-travel
answers) are gone and the key ring no longer holds the key; a rebuild (and a gap filled)
after that gives erased documents; an event whose key is not there yet is retried, not
dead-lettered. The delivery loop runs on the in-memory consumer (Kafka is not what is
tested here: the loop's handling of it is, in tests/integration/projector/
test_kafka_consumer.py)."""

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts import channels as ch
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import UserForgotten
from cqrs_contracts.privacy import ERASED
from cqrs_contracts.read_models import UserOrderReadModel, UserReadModel
from cqrs_contracts.settings import Settings
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.privacy import data_keys
from cqrs_event_store.privacy.cipher import DataKey, data_key, new_material
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import MasterKeyProvider, master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_event_store.tables import data_keys as data_keys_table
from cqrs_event_store.tables import events
from cqrs_read_store.announce import RedisNotifier
from cqrs_read_store.writer import ViewStore
from projector.adapters.erasure import RedisErasure
from projector.adapters.memory_consumer import MemoryConsumer, MemoryTopic
from projector.application.delivery import DeliveryConfig, DeliveryLoop
from projector.application.forgetting import Forgetting
from projector.application.projector import Projector
from projector.entrypoints.consumer import ProjectionProcessor
from tests.integration.projector.helpers import feed, stored_events
from tests.support.event_stores import sealed_user_event

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@dataclass
class Rig:
    engine: AsyncEngine
    master: MasterKeyProvider
    keys: KeyRing
    views: ViewStore
    topic: MemoryTopic
    loop: DeliveryLoop[EventEnvelope]
    redis: Redis
    prefix: str

    async def append(self, *envelopes: EventEnvelope) -> list[EventEnvelope]:
        """Store `envelopes`; as read back sealed (as the relay puts them on Kafka)."""
        async with self.engine.begin() as conn:
            for e in envelopes:
                await conn.execute(insert(events).values(**event_row(e)))
        stored = await stored_events(
            EventReader(self.engine, keys=None), *{e.stream_id for e in envelopes}
        )
        wanted = {e.event_id for e in envelopes}
        return [e for e in stored if e.event_id in wanted]

    async def deliver(self, *envelopes: EventEnvelope) -> None:
        for e in await self.append(*envelopes):
            self.topic.publish(e.model_dump_json().encode(), key=e.stream_id.encode())
        await self.loop.step()

    async def key_for(self, uid: str) -> DataKey:
        async with self.engine.begin() as conn:
            return await data_keys.create(conn, self.master, uid, NOW)

    async def destroy(self, uid: str) -> None:
        async with self.engine.begin() as conn:
            await data_keys.destroy(conn, uid, NOW)

    async def documents(self, uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
        user, _ = await self.views.load(UserReadModel, uid)
        orders, _ = await self.views.load(UserOrderReadModel, uid)
        assert user is not None
        assert orders is not None
        return user.model_dump(), orders.model_dump()


@pytest.fixture
async def rig(
    own_event_store: AsyncEngine,
    view_stores: Callable[[], ViewStore],
    redis_client: Redis,
    projector_settings: Settings,
    run_id: str,
) -> Rig:
    prefix = f"test:{run_id}:s{uuid.uuid4().hex[:8]}"
    master = master_key_from(projector_settings.privacy)
    keys = KeyRing(own_event_store, master, ttl=30.0)  # the key would outlive the test
    views = view_stores()
    projector = Projector(
        views=[views],
        history=EventReader(own_event_store, keys),
        notifier=RedisNotifier(redis_client, prefix),
    )
    forgetting = Forgetting(keys, RedisErasure(redis_client, prefix))
    topic = MemoryTopic("events")
    consumer = MemoryConsumer(topic)
    config = DeliveryConfig(batch_max_records=50, idle_poll_ms=10, max_attempts=2, backoff=0.01)
    loop = DeliveryLoop(consumer, ProjectionProcessor(projector, forgetting, False), config)
    await consumer.start(loop.commit_stored)
    return Rig(own_event_store, master, keys, views, topic, loop, redis_client, prefix)


def user_event(uid: str, version: int, type_: str, key: DataKey, **data: Any) -> EventEnvelope:
    return sealed_user_event(uid, version, type_, key, NOW, **data)


def created(uid: str, key: DataKey) -> EventEnvelope:
    return user_event(
        uid, 1, "UserCreated", key, name="Ada", email="ada@example.com", age=36,
        created_at=NOW.isoformat(),
    )  # fmt: skip


def renamed(uid: str, key: DataKey) -> EventEnvelope:
    return user_event(uid, 2, "UserUpdated", key, name="Ada L.", updated_at=NOW.isoformat())


def forgotten(uid: str, key: DataKey) -> EventEnvelope:
    data = UserForgotten(user_id=uid, updated_at=NOW).model_dump(mode="json", exclude={"user_id"})
    return user_event(uid, 3, "UserForgotten", key, **data)


async def test_sealed_events_project_in_plaintext_and_a_forgotten_user_is_erased_everywhere(
    rig: Rig,
) -> None:
    uid, other = str(uuid.uuid4()), str(uuid.uuid4())
    key, other_key = await rig.key_for(uid), await rig.key_for(other)
    stored = await rig.append(created(uid, key))
    assert "Ada" not in stored[0].model_dump_json()  # sealed in the store and on Kafka
    rig.topic.publish(stored[0].model_dump_json().encode(), key=uid.encode())
    await rig.deliver(renamed(uid, key), created(other, other_key))

    user, orders = await rig.documents(uid)
    assert (user["name"], user["email"]) == ("Ada L.", "ada@example.com")
    assert (orders["name"], orders["email"]) == ("Ada L.", "ada@example.com")
    # copies beside the documents: list pages of both user read models, past answers
    redis, p = rig.redis, rig.prefix
    lists = [
        ch.cached_list(p, m.NAME, "7", uuid.uuid4().hex)
        for m in (UserReadModel, UserOrderReadModel)
    ]
    orders_list = ch.cached_list(p, "OrderReadModel", "7", "kept")
    for name in (*lists, orders_list):
        await redis.set(name, '{"items": [{"name": "Ada L."}]}')
    past = [ch.past_answers(p, m.NAME, uid) for m in (UserReadModel, UserOrderReadModel)]
    for name in past:
        await redis.hset(name, ch.past_version(1), '{"name": "Ada"}')
    assert (await rig.keys.keys([key.key_id]))[key.key_id] is not None  # cached, alive

    await rig.destroy(uid)
    await rig.deliver(forgotten(uid, key))

    user, orders = await rig.documents(uid)
    assert (user["name"], user["email"], user["age"]) == (ERASED, ERASED, 36)
    assert (orders["name"], orders["email"]) == (ERASED, ERASED)
    assert await redis.exists(*lists, *past) == 0
    assert await redis.exists(orders_list) == 1  # no personal data: left alone
    assert (await rig.keys.keys([key.key_id]))[key.key_id] is None  # the tombstone, at once
    assert (await rig.documents(other))[0]["name"] == "Ada"  # only the forgotten user
    assert rig.topic.dead_letters == []


async def test_after_forgetting_a_rebuild_and_a_filled_gap_give_erased_documents(
    rig: Rig, view_stores: Callable[[], ViewStore]
) -> None:
    uid = str(uuid.uuid4())
    key = await rig.key_for(uid)
    await rig.deliver(created(uid, key), renamed(uid, key))
    await rig.destroy(uid)
    await rig.deliver(forgotten(uid, key))
    reader = EventReader(rig.engine, rig.keys)
    history = await stored_events(reader, uid)
    assert [(e.data["name"], e.data.get("email")) for e in history[:2]] == [
        (ERASED, ERASED),
        (ERASED, None),
    ]

    rebuilt, gap_filled = view_stores(), view_stores()
    await feed(rebuilt, reader, [e async for page in reader.replay(0, 1_000_000, 2) for e in page])
    await feed(gap_filled, reader, history[-1:])  # versions 1 and 2 read from the store

    for views in (rebuilt, gap_filled):
        user, _ = await views.load(UserReadModel, uid)
        orders, _ = await views.load(UserOrderReadModel, uid)
        assert isinstance(user, UserReadModel)
        assert isinstance(orders, UserOrderReadModel)
        assert (user.name, user.email, user.age) == (ERASED, ERASED, 36)
        assert (orders.name, orders.email) == (ERASED, ERASED)


async def test_an_event_whose_key_is_not_stored_yet_is_retried_not_dead_lettered(
    rig: Rig,
) -> None:
    uid = str(uuid.uuid4())
    material = new_material()
    key = data_key(str(uuid.uuid4()), uid, material)  # its row is committed later

    await rig.deliver(created(uid, key))
    await rig.loop.step()

    assert rig.topic.dead_letters == []
    assert (await rig.views.load(UserReadModel, uid))[0] is None
    async with rig.engine.begin() as conn:
        await conn.execute(
            insert(data_keys_table).values(
                key_id=key.key_id,
                subject=uid,
                wrapped_key=base64.b64encode(rig.master.wrap(material, uid)).decode(),
                master_key_id=rig.master.key_id,
                created_at=NOW.replace(tzinfo=None),
            )
        )
    await rig.loop.step()
    assert (await rig.documents(uid))[0]["name"] == "Ada"
    assert rig.topic.dead_letters == []
