"""`as_of` on the get queries, over in-memory ports: a version of the document's own
stream or a time; the answer folded from the history equals the document as it was, with
its as_of metadata; unknown points are 404, bad ones 422, a history past the bound 422,
settled answers cached (and served without the event store), recent ones not."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cqrs_contracts.read_models import ReadModel
from cqrs_read_store.precision import as_stored
from cqrs_read_store.projections.fold import fold
from cqrs_read_store.projections.registry import BY_NAME
from tests.unit.projections.helpers import (
    Log,
    at,
    new_id,
    order_created,
    order_updated,
    payment_processed,
    payment_refunded,
    user_created,
    user_updated,
)
from tests.unit.query_service.conftest import World, make_world

UID, OID, PID = new_id(), new_id(), new_id()
GETS = {  # query type -> (read model, id field, document id)
    "GetUser": ("UserReadModel", "id", UID),
    "GetUserOrders": ("UserOrderReadModel", "user_id", UID),
    "GetOrder": ("OrderReadModel", "id", OID),
    "GetOrderPayments": ("OrderPaymentReadModel", "order_id", OID),
    "GetPayment": ("PaymentReadModel", "id", PID),
}


def story() -> Log:
    return Log().add(
        user_created(UID),  # 1
        order_created(OID, UID, amount="100.00"),  # 2
        user_updated(UID, name="Ada L."),  # 3
        payment_processed(PID, OID, UID, "60.00"),  # 4
        order_updated(OID, UID, status="partially_paid", paid_amount="60.00"),  # 5
        payment_refunded(PID, OID, "10.00", "10.00", "partially_refunded"),  # 6
        order_updated(OID, UID, refunded_amount="10.00"),  # 7
    )


def seeded(**settings: Any) -> tuple[World, Log]:
    world, log = make_world(**settings), story()
    world.history.append(*log.envelopes)
    for name, _, doc_id in GETS.values():
        live = fold(BY_NAME[name], doc_id, log.envelopes).doc
        assert live is not None
        world.read_models.put(as_stored(live))
    return world, log


def as_it_was(name: str, doc_id: str, log: Log, upto: int) -> ReadModel:
    """The document after the first `upto` events, as the read store would give it back."""
    doc = fold(BY_NAME[name], doc_id, log.envelopes[:upto]).doc
    assert doc is not None
    return as_stored(doc)


async def test_every_version_of_every_get_query_is_the_document_as_it_was() -> None:
    world, log = seeded()
    for query, (name, field, doc_id) in GETS.items():
        own = [e for e in log.envelopes if e.stream_id == doc_id]
        for env in own:
            reply = await world.ask(query, {field: doc_id, "as_of": env.version})
            assert reply.status == 200, reply.body
            position = env.position or 0
            expected = as_it_was(name, doc_id, log, position)
            assert reply.body["result"] == expected.model_dump(mode="json"), (query, env.version)
            assert reply.body["version"] == env.version
            as_of = reply.body["as_of"]
            assert as_of["version"] == env.version
            assert as_of["position"] == expected.last_position <= position
            assert datetime.fromisoformat(as_of["at"]) == expected.updated_at


async def test_a_version_takes_the_other_streams_up_to_its_position() -> None:
    world, _ = seeded()
    # the order's v1 is position 2: no payment yet; v2 (position 5) has the payment of 4
    first = await world.ask("GetOrderPayments", {"order_id": OID, "as_of": 1})
    second = await world.ask("GetOrderPayments", {"order_id": OID, "as_of": "2"})
    assert first.body["result"]["payments"] == []
    assert [p["payment_id"] for p in second.body["result"]["payments"]] == [PID]
    assert second.body["as_of"]["position"] == 5
    assert second.body["result"]["versions"] == {OID: 2, PID: 1}


async def test_a_time_is_every_event_that_occurred_by_then() -> None:
    world, log = seeded()
    for position in range(1, 8):
        when = at(position) + timedelta(milliseconds=500)
        reply = await world.ask("GetUserOrders", {"user_id": UID, "as_of": when.isoformat()})
        expected = as_it_was("UserOrderReadModel", UID, log, position)
        assert reply.status == 200, reply.body
        assert reply.body["result"] == expected.model_dump(mode="json")
        assert reply.body["as_of"]["position"] == expected.last_position


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"id": UID, "as_of": 4}, "has no version 4"),
        ({"id": new_id(), "as_of": 1}, "not found"),
        ({"id": UID, "as_of": (at(1) - timedelta(seconds=1)).isoformat()}, "did not exist"),
    ],
)
async def test_unknown_versions_ids_and_times_before_creation_are_404(
    data: dict[str, Any], why: str
) -> None:
    world, _ = seeded()
    reply = await world.ask("GetUser", data)
    assert reply.status == 404, reply.body
    assert reply.body["error"]["code"] == "not_found"
    assert why in reply.body["error"]["message"]


@pytest.mark.parametrize(
    "as_of", ["yesterday", "2024-05-17T12:00:00", 0, -3, True, 1.5, "1e3", {"$gt": 1}]
)
async def test_an_as_of_that_is_neither_a_version_nor_a_zoned_time_is_422(as_of: object) -> None:
    world, _ = seeded()
    reply = await world.ask("GetOrder", {"id": OID, "as_of": as_of})
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "validation_failed"
    assert [f["field"] for f in reply.body["error"]["details"]["fields"]] == ["as_of"]


async def test_a_document_fed_by_too_many_events_answers_history_too_long() -> None:
    world, _ = seeded(query_service={"time_travel_max_events": 3})
    early = await world.ask("GetOrderPayments", {"order_id": OID, "as_of": 1})  # 2 events
    assert early.status == 200, early.body
    for data in ({"order_id": OID, "as_of": 3}, {"order_id": OID, "as_of": at(9).isoformat()}):
        reply = await world.ask("GetOrderPayments", data)
        assert reply.status == 422, reply.body
        assert reply.body["error"]["code"] == "history_too_long"
        assert reply.body["error"]["details"] == {"limit": 3}


async def test_settled_answers_are_cached_and_served_without_the_event_store() -> None:
    world, _ = seeded()
    fresh = await world.ask("GetPayment", {"id": PID, "as_of": 1})
    world.history.down = True
    cached = await world.ask("GetPayment", {"id": PID, "as_of": 1})
    assert (fresh.body["from_cache"], cached.body["from_cache"]) == (False, True)
    assert cached.body["result"] == fresh.body["result"]
    assert cached.body["as_of"] == fresh.body["as_of"]
    assert list(world.past.hashes) == [("PaymentReadModel", PID)]
    down = await world.ask("GetPayment", {"id": PID, "as_of": 2})
    assert down.status == 503, down.body
    assert down.body["error"]["code"] == "dependency_unavailable"
    live = await world.ask("GetPayment", {"id": PID})
    assert live.status == 200, live.body  # live queries need no event store


async def test_times_that_reach_the_same_events_share_one_cached_answer() -> None:
    world, _ = seeded()
    for offset in (100, 900):  # both between event 3 and 4
        when = at(3) + timedelta(milliseconds=offset)
        reply = await world.ask("GetUser", {"id": UID, "as_of": when.isoformat()})
        assert reply.status == 200, reply.body
    assert set(world.past.hashes[("UserReadModel", UID)]) == {"t:3:2"}


async def test_a_point_within_the_settle_window_is_not_cached() -> None:
    world, _ = seeded(query_service={"time_travel_settle": 10})
    now = datetime.now(UTC)
    reply = await world.ask("GetUser", {"id": UID, "as_of": now.isoformat()})
    assert reply.status == 200, reply.body
    assert world.past.hashes == {}
    old = await world.ask("GetUser", {"id": UID, "as_of": (now - timedelta(minutes=1)).isoformat()})
    assert old.status == 200, old.body
    assert ("UserReadModel", UID) in world.past.hashes


async def test_erasure_drops_every_past_answer_of_a_document() -> None:
    world, _ = seeded()
    for version in (1, 2):
        assert (await world.ask("GetUser", {"id": UID, "as_of": version})).status == 200
    assert len(world.past.hashes[("UserReadModel", UID)]) == 2
    world.past.forget("UserReadModel", UID)
    again = await world.ask("GetUser", {"id": UID, "as_of": 1})
    assert again.body["from_cache"] is False
