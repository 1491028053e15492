"""OrderPaymentReadModel: an order stream plus its payment streams; paid, refunded, balance."""

from decimal import Decimal

from cqrs_contracts.read_models import OrderPaymentReadModel, PaymentSummary
from cqrs_read_store.precision import as_stored
from tests.unit.projections.helpers import (
    T0,
    Log,
    at,
    fold,
    new_id,
    order_cancelled,
    order_created,
    order_updated,
    payment_processed,
    payment_refunded,
)


def test_payments_partial_and_full_refunds_settle_paid_refunded_and_balance() -> None:
    oid, uid, p1, p2 = new_id(), new_id(), new_id(), new_id()
    log = Log().add(
        order_created(oid, uid, "100", "EUR"),
        payment_processed(p1, oid, uid, "40", processed_at=at(10)),
        order_updated(oid, uid, status="partially_paid", paid_amount="40"),
        payment_processed(p2, oid, uid, "60", method="wallet", processed_at=at(20)),
        order_updated(oid, uid, status="paid", paid_amount="100"),
        payment_refunded(p1, oid, "15", "15", "partially_refunded"),  # position 6
        payment_refunded(p2, oid, "60", "60", "refunded"),  # position 7
    )

    def settled(upto: int) -> tuple[Decimal, Decimal, Decimal]:
        doc = fold(OrderPaymentReadModel, oid, log.entries[:upto])
        assert doc is not None
        return doc.paid, doc.refunded, doc.balance

    assert settled(1) == (Decimal("0"), Decimal("0"), Decimal("100"))
    assert settled(2) == (Decimal("40"), Decimal("0"), Decimal("60"))
    assert settled(5) == (Decimal("100"), Decimal("0"), Decimal("0"))
    assert settled(6) == (Decimal("100"), Decimal("15"), Decimal("15"))
    assert settled(7) == (Decimal("100"), Decimal("75"), Decimal("75"))
    assert fold(OrderPaymentReadModel, oid, log.entries) == OrderPaymentReadModel(
        id=oid,
        user_id=uid,
        amount=Decimal("100"),
        currency="EUR",
        status="paid",
        payments=[
            PaymentSummary(
                payment_id=p1,
                amount=Decimal("40"),
                method="upi",
                status="partially_refunded",
                refunded_amount=Decimal("15"),
                processed_at=at(10),
            ),
            PaymentSummary(
                payment_id=p2,
                amount=Decimal("60"),
                method="wallet",
                status="refunded",
                refunded_amount=Decimal("60"),
                processed_at=at(20),
            ),
        ],
        paid=Decimal("100"),
        refunded=Decimal("75"),
        balance=Decimal("75"),
        versions={oid: 3, p1: 2, p2: 2},
        last_position=7,
        updated_at=at(7),
    )


def test_order_updated_terms_change_the_balance_and_cancel_sets_the_status() -> None:
    oid, uid, pid = new_id(), new_id(), new_id()
    log = Log().add(
        order_created(oid, uid, "100", "EUR"),
        payment_processed(pid, oid, uid, "30"),
        order_updated(oid, uid, amount="50", currency="USD"),
    )

    doc = fold(OrderPaymentReadModel, oid, log.entries)
    assert doc is not None
    assert (doc.amount, doc.currency, doc.paid, doc.balance) == (
        Decimal("50"),
        "USD",
        Decimal("30"),
        Decimal("20"),
    )

    cancelled = fold(
        OrderPaymentReadModel,
        oid,
        Log().add(order_created(oid, uid), order_cancelled(oid, uid)).entries,
    )
    assert cancelled is not None
    assert (cancelled.status, cancelled.balance) == ("cancelled", Decimal("100"))


def test_a_payment_before_the_order_created_event_makes_the_document_then_it_is_filled() -> None:
    oid, uid, pid = new_id(), new_id(), new_id()
    log = Log().add(payment_processed(pid, oid, uid, "25"), order_created(oid, uid, "100", "EUR"))

    early = fold(OrderPaymentReadModel, oid, log.entries[:1])
    assert early is not None
    assert ([p.payment_id for p in early.payments], early.paid) == ([pid], Decimal("25"))
    assert early.versions == {pid: 1}

    doc = fold(OrderPaymentReadModel, oid, log.entries)
    assert doc is not None
    assert (doc.user_id, doc.amount, doc.currency) == (uid, Decimal("100"), "EUR")
    assert (doc.paid, doc.refunded, doc.balance) == (Decimal("25"), Decimal("0"), Decimal("75"))
    assert [p.payment_id for p in doc.payments] == [pid]
    assert doc.versions == {pid: 1, oid: 1}


def test_payments_of_one_millisecond_sort_alike_whether_or_not_the_store_cut_their_times() -> None:
    # as for a user's orders: the live document (read back from the store, times cut to
    # the millisecond) and a replay (microseconds) must list the payments alike
    oid, uid, first, second = new_id(), new_id(), new_id(), new_id()
    log = Log().add(
        order_created(oid, uid, "100", "EUR"),
        payment_processed(first, oid, uid, "10", processed_at=T0.replace(microsecond=337_743)),
        payment_processed(second, oid, uid, "20", processed_at=T0.replace(microsecond=337_004)),
    )

    live = fold(OrderPaymentReadModel, oid, log.entries, stored=True)
    replayed = fold(OrderPaymentReadModel, oid, log.entries)

    assert replayed is not None
    assert live == as_stored(replayed)
    assert [p.payment_id for p in replayed.payments] == sorted([first, second])
