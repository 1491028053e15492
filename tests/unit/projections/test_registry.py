"""`project`: next version only; records per-stream versions, last_position, updated_at.
The registry: which read models each event type targets."""

import pytest

from cqrs_contracts.events import EVENT_TYPES
from cqrs_contracts.privacy import ERASED
from cqrs_contracts.read_models import (
    READ_MODELS,
    UserOrderReadModel,
    UserReadModel,
)
from cqrs_read_store.projections.registry import BY_NAME, PROJECTIONS, StaleEventError, project
from tests.unit.projections.helpers import (
    at,
    envelope,
    new_id,
    order_cancelled,
    order_created,
    order_updated,
    payment_processed,
    payment_refunded,
    user_created,
    user_deleted,
    user_forgotten,
    user_updated,
)

USERS = BY_NAME["UserReadModel"]
USER_ORDERS = BY_NAME["UserOrderReadModel"]


def test_every_read_model_has_a_projection_and_every_event_type_is_projected() -> None:
    assert {p.model.NAME for p in PROJECTIONS} == set(READ_MODELS)
    uid, oid, pid = new_id(), new_id(), new_id()
    samples = [
        user_created(uid),
        user_updated(uid, name="B"),
        user_forgotten(uid),
        user_deleted(uid),
        order_created(oid, uid),
        order_updated(oid, uid, amount="1"),
        order_cancelled(oid, uid),
        payment_processed(pid, oid, uid, "1"),
        payment_refunded(pid, oid, "1", "1", "refunded"),
    ]
    assert {type(e).__name__ for e in samples} == set(EVENT_TYPES)
    targeted = {
        type(e).__name__: {p.model.NAME: p.targets(e) for p in PROJECTIONS if p.targets(e)}
        for e in samples
    }
    user = {"UserReadModel": [uid], "UserOrderReadModel": [uid]}
    order = {"OrderReadModel": [oid], "UserOrderReadModel": [uid], "OrderPaymentReadModel": [oid]}
    payment = {"PaymentReadModel": [pid], "OrderPaymentReadModel": [oid]}
    assert targeted == {
        "UserCreated": user,
        "UserUpdated": user,
        "UserForgotten": user,
        "UserDeleted": user,
        "OrderCreated": order,
        "OrderUpdated": order,
        "OrderCancelled": order,
        "PaymentProcessed": payment,
        "PaymentRefunded": payment,
    }


def test_order_updated_without_its_owner_does_not_target_the_user_view() -> None:
    event = order_updated(new_id(), None, amount="5")
    assert USER_ORDERS.targets(event) == []


@pytest.mark.parametrize(("applied", "version"), [(0, 2), (1, 1), (1, 3), (2, 1)])
def test_project_refuses_anything_but_the_next_version(applied: int, version: int) -> None:
    uid = new_id()
    doc = None
    for v in range(1, applied + 1):
        event = user_created(uid) if v == 1 else user_updated(uid, name=f"n{v}")
        doc = project(USERS, doc, uid, envelope(event, v, v), event)
    event = user_updated(uid, name="late")

    with pytest.raises(StaleEventError):
        project(USERS, doc, uid, envelope(event, version, 10), event)


def test_project_records_versions_per_stream_and_the_highest_position() -> None:
    uid, o1, o2 = new_id(), new_id(), new_id()
    doc = None
    for event, version, position in [
        (order_created(o1, uid), 1, 40),
        (user_created(uid), 1, 7),  # another partition: an older position, later
        (order_updated(o1, uid, amount="5"), 2, 41),
        (order_created(o2, uid), 1, 12),
    ]:
        doc = project(USER_ORDERS, doc, uid, envelope(event, version, position), event)

    assert isinstance(doc, UserOrderReadModel)
    assert doc.versions == {o1: 2, uid: 1, o2: 1}
    assert doc.last_position == 41
    assert doc.version == 1  # its own (user) stream


def test_project_accepts_an_unstored_envelope_without_a_position() -> None:
    uid = new_id()
    event = user_created(uid)

    doc = project(USERS, None, uid, envelope(event, 1, None), event)

    assert isinstance(doc, UserReadModel)
    assert (doc.versions, doc.last_position) == ({uid: 1}, 0)


def test_updated_at_is_the_latest_event_time_whatever_the_delivery_order() -> None:
    """Like last_position: streams on other partitions deliver older events late, and a
    rebuild replays in position order; both must end with the same document."""
    uid, oid = new_id(), new_id()
    user, order = user_created(uid), order_created(oid, uid)
    late = [(order, envelope(order, 1, 40)), (user, envelope(user, 1, 7))]

    doc = None
    for event, env in late:
        doc = project(USER_ORDERS, doc, uid, env, event)
    in_order = None
    for event, env in reversed(late):
        in_order = project(USER_ORDERS, in_order, uid, env, event)

    assert in_order is not None
    assert doc is not None
    assert (in_order.updated_at, in_order.last_position) == (at(40), 40)
    assert (doc.updated_at, doc.last_position) == (at(40), 40)
    assert doc == in_order


def test_user_forgotten_erases_the_name_and_email_in_both_user_views() -> None:
    uid = new_id()
    for projection in (USERS, USER_ORDERS):
        doc = projection.apply(None, user_created(uid), uid)
        doc = projection.apply(doc, user_forgotten(uid), uid)
        assert (doc.name, doc.email) == (ERASED, ERASED)
