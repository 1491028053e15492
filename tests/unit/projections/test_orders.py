"""OrderReadModel: OrderCreated, OrderUpdated (terms and payment state), OrderCancelled."""

from decimal import Decimal

from cqrs_contracts.read_models import OrderReadModel
from tests.unit.projections.helpers import (
    T0,
    Log,
    at,
    fold,
    new_id,
    order_cancelled,
    order_created,
    order_updated,
)


def test_order_created_builds_the_document() -> None:
    oid, uid = new_id(), new_id()
    log = Log().add(order_created(oid, uid, "100", "EUR", description="books"))

    assert fold(OrderReadModel, oid, log.entries) == OrderReadModel(
        id=oid,
        user_id=uid,
        amount=Decimal("100.00"),
        currency="EUR",
        description="books",
        status="pending",
        paid_amount=Decimal("0"),
        refunded_amount=Decimal("0"),
        created_at=T0,
        versions={oid: 1},
        last_position=1,
        updated_at=at(1),
    )


def test_order_updated_changes_the_terms_it_carries() -> None:
    oid, uid = new_id(), new_id()
    log = Log().add(
        order_created(oid, uid, "100", "EUR", description="books"),
        order_updated(oid, uid, amount="120.50", currency="USD"),
    )

    doc = fold(OrderReadModel, oid, log.entries)

    assert doc is not None
    assert (doc.amount, doc.currency, doc.description) == (Decimal("120.50"), "USD", "books")
    assert (doc.status, doc.version, doc.user_id) == ("pending", 2, uid)


def test_order_updated_carries_the_payment_state() -> None:
    oid, uid = new_id(), new_id()
    log = Log().add(
        order_created(oid, uid, "100", "EUR"),
        order_updated(oid, uid, status="paid", paid_amount="100", payment_id=new_id()),
        order_updated(oid, uid, status="partially_paid", refunded_amount="30"),
    )

    doc = fold(OrderReadModel, oid, log.entries)

    assert doc is not None
    assert (doc.status, doc.paid_amount, doc.refunded_amount) == (
        "partially_paid",
        Decimal("100.00"),
        Decimal("30.00"),
    )
    assert (doc.amount, doc.versions, doc.last_position) == (Decimal("100.00"), {oid: 3}, 3)


def test_order_cancelled_records_when_and_why() -> None:
    oid, uid = new_id(), new_id()
    log = Log().add(order_created(oid, uid), order_cancelled(oid, uid, reason="too late"))

    doc = fold(OrderReadModel, oid, log.entries)

    assert doc is not None
    assert (doc.status, doc.cancelled_at, doc.cancel_reason) == ("cancelled", at(90), "too late")
    assert doc.amount == Decimal("100.00")
