"""UserOrderReadModel: the user stream plus every order stream of that user."""

from decimal import Decimal

from cqrs_contracts.read_models import CurrencyTotals, OrderSummary, UserOrderReadModel
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
    user_created,
    user_deleted,
    user_updated,
)


def test_user_events_set_the_user_fields() -> None:
    uid = new_id()
    log = Log().add(
        user_created(uid),
        user_updated(uid, email="ada@lovelace.org"),
        user_updated(uid, age=40),  # not part of this read model
    )

    doc = fold(UserOrderReadModel, uid, log.entries)

    assert doc == UserOrderReadModel(
        id=uid,
        name="Ada",
        email="ada@lovelace.org",
        status="active",
        orders=[],
        order_count=0,
        totals={},
        versions={uid: 3},
        last_position=3,
        updated_at=at(3),
    )
    deleted = fold(UserOrderReadModel, uid, Log().add(user_created(uid), user_deleted(uid)).entries)
    assert deleted is not None
    assert (deleted.status, deleted.name) == ("deleted", "Ada")


def test_orders_in_two_currencies_with_payments_refunds_and_a_cancellation() -> None:
    uid, o1, o2, o3 = new_id(), new_id(), new_id(), new_id()
    log = Log().add(
        user_created(uid),
        order_created(o1, uid, "100", "EUR", created_at=at(10)),
        order_created(o2, uid, "50", "USD", created_at=at(20)),
        order_updated(o1, uid, status="paid", paid_amount="100", payment_id=new_id()),
        order_created(o3, uid, "20", "EUR", created_at=at(30)),
        order_updated(o1, uid, status="partially_paid", refunded_amount="30"),
        order_cancelled(o3, uid),
    )

    doc = fold(UserOrderReadModel, uid, log.entries)

    assert doc == UserOrderReadModel(
        id=uid,
        name="Ada",
        email="ada@example.com",
        orders=[
            OrderSummary(
                order_id=o1,
                amount=Decimal("100"),
                currency="EUR",
                status="partially_paid",
                paid_amount=Decimal("100"),
                refunded_amount=Decimal("30"),
                created_at=at(10),
            ),
            OrderSummary(
                order_id=o2,
                amount=Decimal("50"),
                currency="USD",
                status="pending",
                created_at=at(20),
            ),
            OrderSummary(
                order_id=o3,
                amount=Decimal("20"),
                currency="EUR",
                status="cancelled",
                created_at=at(30),
            ),
        ],
        order_count=3,
        totals={
            "EUR": CurrencyTotals(
                orders=2, amount=Decimal("120"), paid=Decimal("100"), refunded=Decimal("30")
            ),
            "USD": CurrencyTotals(orders=1, amount=Decimal("50")),
        },
        versions={uid: 1, o1: 3, o2: 1, o3: 2},
        last_position=7,
        updated_at=at(7),
    )


def test_order_updated_upserts_the_summary_and_moves_totals_between_currencies() -> None:
    uid, oid = new_id(), new_id()
    log = Log().add(
        user_created(uid),
        order_created(oid, uid, "100", "EUR"),
        order_updated(oid, uid, amount="80", currency="GBP"),
    )

    doc = fold(UserOrderReadModel, uid, log.entries)

    assert doc is not None
    assert [(o.order_id, o.amount, o.currency) for o in doc.orders] == [
        (oid, Decimal("80.00"), "GBP")
    ]
    assert doc.order_count == 1
    assert doc.totals == {"GBP": CurrencyTotals(orders=1, amount=Decimal("80"))}


def test_an_order_before_the_users_created_event_makes_the_document_then_it_is_filled() -> None:
    uid, oid = new_id(), new_id()
    log = Log().add(order_created(oid, uid, "70", "INR"), user_created(uid, name="Grace"))

    early = fold(UserOrderReadModel, uid, log.entries[:1])
    assert early is not None
    assert (early.id, early.name, early.email, early.order_count) == (uid, "", "", 1)
    assert early.versions == {oid: 1}

    doc = fold(UserOrderReadModel, uid, log.entries)
    assert doc is not None
    assert (doc.name, doc.email, doc.status) == ("Grace", "ada@example.com", "active")
    assert [o.order_id for o in doc.orders] == [oid]
    assert doc.totals == {"INR": CurrencyTotals(orders=1, amount=Decimal("70"))}
    assert (doc.versions, doc.last_position) == ({oid: 1, uid: 1}, 2)
    assert doc.orders[0].created_at == T0


def test_orders_of_one_millisecond_sort_alike_whether_or_not_the_store_cut_their_times() -> None:
    # The live projector reads the document back from the read store (times cut to the
    # millisecond) between batches; a replay folds it in memory (microseconds). Both must
    # list two orders of the same millisecond alike (the kill -9 chaos run caught this).
    uid, first, second = new_id(), new_id(), new_id()
    log = Log().add(
        user_created(uid),
        order_created(first, uid, created_at=T0.replace(microsecond=337_743)),
        order_created(second, uid, created_at=T0.replace(microsecond=337_004)),
    )

    live = fold(UserOrderReadModel, uid, log.entries, stored=True)
    replayed = fold(UserOrderReadModel, uid, log.entries)

    assert replayed is not None
    assert live == as_stored(replayed)
    assert [o.order_id for o in replayed.orders] == sorted([first, second])
