"""The projections' consumer reveals every event before projecting it (a batch's keys in
one lookup), retries (never dead-letters) an event whose key it cannot get, and on a
UserForgotten event forgets the key and erases the user's kept copies once the
documents are stored erased. In memory: the delivery loop, the consumer, the views."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import PERSONAL_FIELDS, UserForgotten
from cqrs_contracts.privacy import ERASED
from cqrs_contracts.read_models import UserOrderReadModel, UserReadModel
from cqrs_event_store.privacy.cipher import DataKey, data_key, new_material
from cqrs_event_store.privacy.sealing import seal_fields
from projector.adapters.memory_consumer import MemoryConsumer, MemoryTopic
from projector.application.delivery import DeliveryConfig, DeliveryLoop
from projector.application.forgetting import Forgetting
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from projector.entrypoints.consumer import ProjectionProcessor
from tests.unit.projector.fakes import MemoryErasure, MemoryKeys

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class NoHistory:
    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        return []


def user_event(
    uid: str, version: int, type_: str, data: dict[str, object], key: DataKey
) -> EventEnvelope:
    sealed = seal_fields({"user_id": uid, **data}, PERSONAL_FIELDS[type_], key)
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        position=version,
        stream_type="user",
        stream_id=uid,
        version=version,
        type=type_,
        schema_version=2 if type_ == "UserCreated" else 1,
        data=sealed,
        occurred_at=T0,
    )


def created(uid: str, key: DataKey) -> EventEnvelope:
    data = {"name": "Ada", "email": "ada@example.com", "age": 36, "created_at": T0.isoformat()}
    return user_event(uid, 1, "UserCreated", data, key)


def forgotten(uid: str, version: int, key: DataKey) -> EventEnvelope:
    data = UserForgotten(user_id=uid, updated_at=T0).model_dump(mode="json")
    return user_event(uid, version, "UserForgotten", data, key)


@dataclass
class Rig:
    topic: MemoryTopic
    views: MemoryViews
    keys: MemoryKeys
    erasure: MemoryErasure
    loop: DeliveryLoop[EventEnvelope]

    def publish(self, *envelopes: EventEnvelope) -> None:
        for e in envelopes:
            self.topic.publish(e.model_dump_json().encode(), key=e.stream_id.encode())

    async def user(self, uid: str) -> tuple[UserReadModel, UserOrderReadModel]:
        user, _ = await self.views.load(UserReadModel, uid)
        orders, _ = await self.views.load(UserOrderReadModel, uid)
        assert isinstance(user, UserReadModel)
        assert isinstance(orders, UserOrderReadModel)
        return user, orders


async def rig() -> Rig:
    topic, views = MemoryTopic("events"), MemoryViews()
    keys, erasure = MemoryKeys(), MemoryErasure()
    projector = Projector(views=[views], history=NoHistory(), notifier=None)
    processor = ProjectionProcessor(projector, Forgetting(keys, erasure), telemetry=False)
    consumer = MemoryConsumer(topic)

    async def sleep(seconds: float) -> None:
        return None

    config = DeliveryConfig(batch_max_records=100, idle_poll_ms=10, max_attempts=2, backoff=0.1)
    loop = DeliveryLoop(consumer, processor, config, sleep=sleep)
    await consumer.start(loop.commit_stored)
    return Rig(topic, views, keys, erasure, loop)


async def test_sealed_events_are_projected_in_plaintext_with_one_key_lookup_per_batch() -> None:
    r = await rig()
    ada, bob = str(uuid.uuid4()), str(uuid.uuid4())
    ada_key, bob_key = data_key("ka", ada, new_material()), data_key("kb", bob, new_material())
    r.keys.keys.update({"ka": ada_key, "kb": bob_key})
    r.publish(created(ada, ada_key), created(bob, bob_key))

    await r.loop.step()

    user, orders = await r.user(ada)
    assert (user.name, user.email, orders.name, orders.email) == (
        "Ada",
        "ada@example.com",
        "Ada",
        "ada@example.com",
    )
    assert r.keys.lookups == 1
    assert r.loop.processed == 2


async def test_an_event_whose_key_is_not_there_yet_is_retried_not_dead_lettered() -> None:
    r = await rig()
    uid = str(uuid.uuid4())
    key = data_key("late", uid, new_material())
    r.publish(created(uid, key))

    await r.loop.step()
    await r.loop.step()

    assert r.topic.dead_letters == []
    assert (await r.views.load(UserReadModel, uid))[0] is None
    r.keys.keys["late"] = key
    await r.loop.step()
    assert (await r.user(uid))[0].name == "Ada"
    assert r.topic.dead_letters == []


async def test_a_forgotten_user_is_erased_their_key_forgotten_and_their_copies_dropped() -> None:
    r = await rig()
    uid = str(uuid.uuid4())
    key = data_key("k", uid, new_material())
    r.keys.keys["k"] = key
    r.publish(created(uid, key))
    await r.loop.step()
    r.keys.keys["k"] = None  # destroyed with the UserForgotten event
    r.publish(forgotten(uid, 2, key))

    await r.loop.step()

    user, orders = await r.user(uid)
    assert (user.name, user.email, orders.name, orders.email) == (ERASED,) * 4
    assert user.age == 36
    assert r.keys.forgotten == [uid]
    assert r.erasure.erased == [uid]


async def test_a_failing_erasure_retries_the_forgetting_event() -> None:
    r = await rig()
    uid = str(uuid.uuid4())
    key = data_key("k", uid, new_material())
    r.keys.keys["k"] = None
    calls: list[str] = []

    async def down_once(user_id: str) -> None:
        calls.append(user_id)
        if len(calls) <= 3:  # the batch, then both attempts of the event alone: rewound
            raise ConnectionError("redis down")
        r.erasure.erased.append(user_id)

    r.erasure.forget_user = down_once  # type: ignore[method-assign]
    r.publish(forgotten(uid, 1, key))

    await r.loop.step()
    assert r.erasure.erased == []
    assert r.topic.dead_letters == []
    await r.loop.step()
    assert len(calls) == 4
    assert r.erasure.erased == [uid]
    assert r.topic.dead_letters == []


async def test_a_poison_event_is_dead_lettered_as_kafka_carried_it_sealed() -> None:
    r = await rig()
    uid = str(uuid.uuid4())
    key = data_key("k", uid, new_material())
    r.keys.keys["k"] = key
    poison = user_event(uid, 1, "UserCreated", {"name": "Ada", "email": "ada@example.com"}, key)
    r.publish(poison)  # no created_at: breaks the UserCreated contract once revealed

    await r.loop.step()

    ((message, error),) = r.topic.dead_letters
    assert "created_at" in error
    assert message.value == poison.model_dump_json().encode()
    assert b"Ada" not in (message.value or b"")
