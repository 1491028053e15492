"""PaymentReadModel: PaymentProcessed, PaymentRefunded (partial, then full)."""

from decimal import Decimal

from cqrs_contracts.read_models import PaymentReadModel
from tests.unit.projections.helpers import (
    T0,
    Log,
    at,
    fold,
    new_id,
    payment_processed,
    payment_refunded,
)


def test_payment_processed_builds_the_document() -> None:
    pid, oid, uid = new_id(), new_id(), new_id()
    log = Log().add(payment_processed(pid, oid, uid, "40", "GBP", method="credit_card"))

    assert fold(PaymentReadModel, pid, log.entries) == PaymentReadModel(
        id=pid,
        order_id=oid,
        user_id=uid,
        amount=Decimal("40.00"),
        currency="GBP",
        method="credit_card",
        status="completed",
        refunded_amount=Decimal("0"),
        processed_at=T0,
        versions={pid: 1},
        last_position=1,
        updated_at=at(1),
    )


def test_payment_refunded_sets_status_and_refunded_total() -> None:
    pid, oid, uid = new_id(), new_id(), new_id()
    log = Log().add(
        payment_processed(pid, oid, uid, "40"),
        payment_refunded(pid, oid, "15", "15", "partially_refunded"),
        payment_refunded(pid, oid, "25", "40", "refunded"),
    )

    partial = fold(PaymentReadModel, pid, log.entries[:2])
    full = fold(PaymentReadModel, pid, log.entries)

    assert partial is not None
    assert (partial.status, partial.refunded_amount) == ("partially_refunded", Decimal("15.00"))
    assert full is not None
    assert (full.status, full.refunded_amount, full.amount) == (
        "refunded",
        Decimal("40.00"),
        Decimal("40.00"),
    )
    assert (full.versions, full.last_position, full.user_id) == ({pid: 3}, 3, uid)
