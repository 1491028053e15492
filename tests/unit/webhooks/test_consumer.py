"""Webhook delivery on the delivery loop, against the in-memory consumer and fakes of
the delivery's ports: one event per poll in order, a delivered event's offset committed
at once, the read store down rewinds to the event after one pause, and what is not an
event is skipped (the projector dead-letters it)."""

from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import AutoReconnect

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import Settings
from projector.adapters.memory_consumer import MemoryConsumer, MemoryTopic
from projector.application.delivery import DeliveryLoop
from projector.application.forgetting import Forgetting
from projector.webhooks.application.delivery import RetryPolicy, WebhookDelivery
from projector.webhooks.application.handlers import EventHandler
from projector.webhooks.entrypoints.consumer import WebhookProcessor, delivery_config
from tests.unit.projector.fakes import plain_forgetting
from tests.unit.webhooks.helpers import (
    FakeHandlers,
    FakeOutcomes,
    FakeReceivers,
    envelope,
    handler,
)


@dataclass
class DownOutcomes(FakeOutcomes):
    """The read store is down for the first `down` deliveries recorded."""

    down: int = 0

    async def delivered(self, target: EventHandler, at: datetime) -> None:
        if self.down:
            self.down -= 1
            raise AutoReconnect("read store down")
        await super().delivered(target, at)


@dataclass
class Rig:
    topic: MemoryTopic
    consumer: MemoryConsumer
    receivers: FakeReceivers
    outcomes: DownOutcomes
    loop: DeliveryLoop[EventEnvelope]
    pauses: list[float] = field(default_factory=list)

    def sent(self) -> list[str]:
        return [h["webhook-id"] for _, _, h in self.receivers.requests]


async def rig(*handlers: EventHandler, forgetting: Forgetting | None = None) -> Rig:
    settings = Settings()
    topic = MemoryTopic("events")
    consumer = MemoryConsumer(topic)
    receivers, outcomes = FakeReceivers(), DownOutcomes()
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    registry = FakeHandlers({h.id: h for h in handlers})
    delivery = WebhookDelivery(registry, receivers, outcomes, RetryPolicy(2, 0.5, 1), sleep=sleep)
    config = delivery_config(settings)
    loop: DeliveryLoop[EventEnvelope] = DeliveryLoop(
        consumer,
        WebhookProcessor(delivery, forgetting or plain_forgetting()),
        config,
        sleep=sleep,
        clock=lambda: 0.0,
    )
    await consumer.start(loop.commit_stored)
    return Rig(topic, consumer, receivers, outcomes, loop, pauses)


async def test_events_go_one_per_poll_in_order_and_a_delivered_one_is_committed_at_once() -> None:
    r = await rig(handler("UserCreated"))
    first, unwanted, third = envelope(), envelope("OrderPlaced"), envelope()
    for event in (first, unwanted, third):
        r.topic.publish(event.model_dump_json().encode())

    await r.loop.step()
    assert r.sent() == [first.event_id]
    assert r.consumer.commits == [{0: 1}]
    await r.loop.step()
    assert r.consumer.commits == [{0: 1}]  # no handler wanted it: the throttled commit
    await r.loop.step()
    assert r.sent() == [first.event_id, third.event_id]
    assert r.consumer.commits == [{0: 1}, {0: 3}]


async def test_the_read_store_down_rewinds_to_the_event_after_one_pause() -> None:
    r = await rig(handler("UserCreated"))
    r.outcomes.down = 1
    event = envelope()
    r.topic.publish(event.model_dump_json().encode())

    await r.loop.step()
    assert r.pauses == [Settings().webhooks.retry_base_delay]
    assert r.consumer.commits == []
    await r.loop.step()  # the same event again: nothing skipped
    assert r.sent() == [event.event_id, event.event_id]
    assert r.outcomes.delivered_to != []
    assert r.consumer.commits == [{0: 1}]


async def test_what_is_not_an_event_is_skipped_not_dead_lettered() -> None:
    r = await rig(handler("UserCreated"))
    r.topic.publish(b"not json")

    await r.loop.step()
    await r.loop.stop()
    assert r.receivers.requests == []
    assert r.topic.dead_letters == []
    assert r.topic.committed["group"] == {0: 1}
