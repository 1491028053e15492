"""WebhookDelivery against in-memory fakes of its ports: retries with backoff, dead
letters with the last error, removal during retries, handlers of one event served
together."""

import asyncio
from dataclasses import dataclass

import pytest

from projector.webhooks.application.delivery import (
    RetryPolicy,
    WebhookDelivery,
)
from projector.webhooks.application.handlers import EventHandler, verify
from tests.support.polling import eventually
from tests.unit.webhooks.helpers import (
    FakeHandlers,
    FakeOutcomes,
    FakeReceivers,
    envelope,
    handler,
)


@dataclass
class World:
    registry: FakeHandlers
    receivers: FakeReceivers
    outcomes: FakeOutcomes
    pauses: list[float]
    delivery: WebhookDelivery


def world(*handlers: EventHandler, **script: list[str | None]) -> World:
    """Handlers, receivers scripted by URL host (http://<host>), at most 4 attempts."""
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    registry = FakeHandlers({h.id: h for h in handlers})
    receivers = FakeReceivers({f"http://{host}": answers for host, answers in script.items()})
    outcomes = FakeOutcomes()
    delivery = WebhookDelivery(registry, receivers, outcomes, RetryPolicy(4, 0.5, 1.5), sleep=sleep)
    return World(registry, receivers, outcomes, pauses, delivery)


async def test_a_delivery_that_fails_then_succeeds_is_retried_with_backoff() -> None:
    flaky = handler("UserCreated", url="http://flaky")
    w = world(flaky, flaky=["HTTP 500", "ConnectError: refused"])
    event = envelope()

    assert await w.delivery.deliver(event) == 1
    assert [h["X-CQRS-Delivery"] for _, _, h in w.receivers.requests] == ["1", "2", "3"]
    assert w.pauses == [0.5, 1.0]
    assert w.outcomes.delivered_to == [flaky.id]
    assert w.outcomes.failures == [(flaky.id, "HTTP 500"), (flaky.id, "ConnectError: refused")]
    assert w.outcomes.dead == []
    for _, body, headers in w.receivers.requests:
        assert verify(flaky.secrets[0], body, headers["X-CQRS-Signature"])
        assert headers["X-CQRS-Event-Id"] == event.event_id
        assert headers["webhook-id"] == event.event_id  # the same on every attempt


async def test_after_the_last_attempt_the_delivery_is_dead_lettered_with_the_last_error() -> None:
    down = handler("*", url="http://down")
    w = world(down, down=["HTTP 500", "ConnectError: refused", "HTTP 503", "HTTP 418: teapot"])
    event = envelope()

    assert await w.delivery.deliver(event) == 1
    assert len(w.receivers.requests) == 4
    assert w.pauses == [0.5, 1.0, 1.5]  # doubling, capped at max_delay
    assert w.outcomes.dead == [(down.id, event.event_id, 4, "HTTP 418: teapot")]
    assert w.outcomes.delivered_to == []
    assert len(w.outcomes.failures) == 4


async def test_a_redelivered_dead_letter_is_sent_once_more_as_attempt_one() -> None:
    down = handler("*", url="http://down")
    w = world(down, down=["HTTP 500", "HTTP 500", "HTTP 500", "HTTP 500", "HTTP 502"])
    event = envelope()
    await w.delivery.deliver(event)
    assert len(w.outcomes.dead) == 1
    w.receivers.requests.clear()

    failed = await w.delivery.redeliver(down, event)
    assert (failed.delivered, failed.attempts, failed.error) == (False, 1, "HTTP 502")
    again = await w.delivery.redeliver(down, event)  # the receiver answers 2xx now

    assert (again.delivered, again.attempts, again.error) == (True, 1, None)
    assert [h["X-CQRS-Delivery"] for _, _, h in w.receivers.requests] == ["1", "1"]
    assert {h["webhook-id"] for _, _, h in w.receivers.requests} == {event.event_id}
    assert w.outcomes.delivered_to == [down.id]
    assert len(w.outcomes.dead) == 1  # the caller keeps or removes the dead letter


async def test_every_matching_handler_gets_the_event_and_no_other_does() -> None:
    users = handler("UserCreated", url="http://users")
    every = handler("*", url="http://every")
    orders = handler("OrderCreated", url="http://orders")
    w = world(users, every, orders)

    assert await w.delivery.deliver(envelope("UserCreated")) == 2
    assert sorted(url for url, _, _ in w.receivers.requests) == ["http://every", "http://users"]
    assert sorted(w.outcomes.delivered_to) == sorted([users.id, every.id])


async def test_an_event_no_handler_wants_goes_nowhere() -> None:
    w = world(handler("OrderCreated", url="http://orders"))

    assert await w.delivery.deliver(envelope("UserCreated")) == 0
    assert w.receivers.requests == []


async def test_a_handler_removed_while_retrying_gets_no_more_attempts() -> None:
    gone = handler("*", url="http://gone")
    w = world(gone, gone=["HTTP 500", "HTTP 500"])
    w.receivers.on_request = w.registry.handlers.clear

    await w.delivery.deliver(envelope())

    assert len(w.receivers.requests) == 1
    assert w.outcomes.dead == []


async def test_a_slow_handler_does_not_delay_the_others_of_the_same_event() -> None:
    slow, quick = handler("*", url="http://slow"), handler("*", url="http://quick")
    gate = asyncio.Event()
    outcomes = FakeOutcomes()

    class Receivers:
        async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
            if url == "http://slow":
                await gate.wait()

    registry = FakeHandlers({slow.id: slow, quick.id: quick})
    delivery = WebhookDelivery(registry, Receivers(), outcomes, RetryPolicy(1, 0.1, 0.1))
    task = asyncio.create_task(delivery.deliver(envelope()))

    async def delivered() -> list[str]:
        return outcomes.delivered_to

    await eventually(delivered, timeout=5, interval=0, what="the quick receiver's delivery")

    assert outcomes.delivered_to == [quick.id]
    assert not task.done()
    gate.set()
    assert await task == 2
    assert outcomes.delivered_to == [quick.id, slow.id]


async def test_a_dead_letter_that_cannot_be_stored_fails_the_event() -> None:
    down = handler("*", url="http://down")
    w = world(down, down=["HTTP 500"] * 4)
    w.outcomes.broken = True

    with pytest.raises(ConnectionError):
        await w.delivery.deliver(envelope())
