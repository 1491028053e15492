"""Payments and refunds: each touches two streams, the payment's and the order's."""

from decimal import Decimal

from command_service.domain.decisions import process_payment, refund_payment
from command_service.domain.model import Order, Payment
from cqrs_contracts.commands import ProcessPayment, RefundPayment
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import OrderUpdated, PaymentProcessed, PaymentRefunded
from cqrs_contracts.money import (
    Currency,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)
from tests.unit.domain.helpers import (
    NOW,
    ctx,
    events_on,
    fields_of,
    given,
    new_id,
    order_cancelled,
    order_created,
    payment_processed,
    rejected,
    then,
)

USER = new_id()


def order(amount: str = "100.00", currency: str = "USD") -> tuple[str, Order]:
    oid = new_id()
    return oid, given(order_created(oid, USER, amount=amount, currency=currency))


def pay(oid: str, amount: str, currency: str = "USD", method: str = "wallet") -> ProcessPayment:
    return ProcessPayment(order_id=oid, amount=amount, currency=currency, method=method)


def paid(oid: str, state: Order, amount: str) -> tuple[str, Order, Payment]:
    """(payment id, order state, payment state) after paying `amount`."""
    pid = new_id()
    decision = process_payment(pay(oid, amount), state, ctx(pid))
    return pid, then(state, decision, "order"), then(None, decision, "payment")


# ProcessPayment


def test_process_payment_changes_the_payment_and_the_order_stream() -> None:
    oid, state = order("100.00")
    pid = new_id()

    decision = process_payment(pay(oid, "40.00", method="upi"), state, ctx(pid))

    assert decision.aggregate_id == pid
    assert [(c.stream_type, c.stream_id) for c in decision.changes] == [
        ("payment", pid),
        ("order", oid),
    ]
    assert events_on(decision, "payment") == (
        PaymentProcessed(
            payment_id=pid,
            order_id=oid,
            user_id=USER,
            amount=Decimal("40.00"),
            currency=Currency.USD,
            method=PaymentMethod.UPI,
            status=PaymentStatus.COMPLETED,
            processed_at=NOW,
        ),
    )
    assert events_on(decision, "order") == (
        OrderUpdated(
            order_id=oid,
            user_id=USER,
            status=OrderStatus.PARTIALLY_PAID,
            paid_amount=Decimal("40.00"),
            payment_id=pid,
            updated_at=NOW,
        ),
    )


def test_partial_payments_make_the_order_partially_paid_then_paid() -> None:
    oid, state = order("100.00")

    _, state, _ = paid(oid, state, "30.00")
    assert (state.status, state.paid, state.outstanding) == (
        OrderStatus.PARTIALLY_PAID,
        Decimal("30.00"),
        Decimal("70.00"),
    )

    _, state, _ = paid(oid, state, "70.00")
    assert (state.status, state.paid, state.outstanding) == (
        OrderStatus.PAID,
        Decimal("100.00"),
        Decimal("0"),
    )


def test_payment_in_another_currency_is_refused() -> None:
    oid, state = order(currency="USD")

    rejected(
        ErrorCode.CURRENCY_MISMATCH,
        409,
        process_payment,
        pay(oid, "10", currency="EUR"),
        state,
        ctx(),
    )


def test_payment_above_the_outstanding_amount_is_refused() -> None:
    oid, state = order("100.00")
    _, state, _ = paid(oid, state, "60.00")

    error = rejected(
        ErrorCode.AMOUNT_EXCEEDS_OUTSTANDING, 409, process_payment, pay(oid, "40.01"), state, ctx()
    )

    assert error.details == {"outstanding": "40.00"}


def test_payment_on_a_paid_order_is_refused() -> None:
    oid, state = order("100.00")
    _, state, _ = paid(oid, state, "100.00")

    rejected(ErrorCode.ORDER_NOT_PENDING, 409, process_payment, pay(oid, "1"), state, ctx())


def test_payment_on_a_cancelled_order_is_refused() -> None:
    oid = new_id()
    state = given(order_created(oid, USER), order_cancelled(oid, USER))

    rejected(ErrorCode.ORDER_NOT_PENDING, 409, process_payment, pay(oid, "1"), state, ctx())


def test_payment_for_an_unknown_order_is_not_found() -> None:
    rejected(ErrorCode.NOT_FOUND, 404, process_payment, pay(new_id(), "1"), None, ctx())


def test_payment_without_method_is_invalid() -> None:
    oid, state = order()
    cmd = ProcessPayment(order_id=oid, amount="1", currency="USD")

    error = rejected(ErrorCode.VALIDATION_FAILED, 422, process_payment, cmd, state, ctx())

    assert fields_of(error) == ["method"]


def test_after_a_partial_refund_only_the_refunded_part_is_outstanding_again() -> None:
    oid, state = order("100.00")
    pid, state, payment = paid(oid, state, "100.00")
    refund = refund_payment(RefundPayment(payment_id=pid, amount="30"), payment, state, ctx())
    state = then(state, refund, "order")

    rejected(
        ErrorCode.AMOUNT_EXCEEDS_OUTSTANDING, 409, process_payment, pay(oid, "30.01"), state, ctx()
    )
    _, state, _ = paid(oid, state, "30.00")
    assert state.status == OrderStatus.PAID


# RefundPayment


def test_refund_changes_the_payment_and_the_order_stream() -> None:
    oid, state = order("100.00")
    pid, state, payment = paid(oid, state, "100.00")

    decision = refund_payment(
        RefundPayment(payment_id=pid, amount="25.00", reason="damaged"), payment, state, ctx()
    )

    assert decision.aggregate_id == pid
    assert [(c.stream_type, c.stream_id) for c in decision.changes] == [
        ("payment", pid),
        ("order", oid),
    ]
    assert events_on(decision, "payment") == (
        PaymentRefunded(
            payment_id=pid,
            order_id=oid,
            amount=Decimal("25.00"),
            refunded_total=Decimal("25.00"),
            status=PaymentStatus.PARTIALLY_REFUNDED,
            reason="damaged",
            refunded_at=NOW,
        ),
    )
    assert events_on(decision, "order") == (
        OrderUpdated(
            order_id=oid,
            user_id=USER,
            status=OrderStatus.PARTIALLY_PAID,
            refunded_amount=Decimal("25.00"),
            payment_id=pid,
            updated_at=NOW,
        ),
    )


def test_partial_refunds_then_the_rest_make_the_payment_and_order_refunded() -> None:
    oid, state = order("100.00")
    pid, state, payment = paid(oid, state, "100.00")

    first = refund_payment(RefundPayment(payment_id=pid, amount="40"), payment, state, ctx())
    payment, state = then(payment, first, "payment"), then(state, first, "order")
    assert (payment.status, payment.refundable) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("60.00"),
    )
    assert (state.status, state.net_paid) == (OrderStatus.PARTIALLY_PAID, Decimal("60.00"))

    rest = refund_payment(RefundPayment(payment_id=pid, amount="60"), payment, state, ctx())
    payment, state = then(payment, rest, "payment"), then(state, rest, "order")
    assert (payment.status, payment.refundable) == (PaymentStatus.REFUNDED, Decimal("0"))
    assert (state.status, state.refunded) == (OrderStatus.REFUNDED, Decimal("100.00"))


def test_full_refund_of_a_partial_payment_returns_the_order_to_refunded() -> None:
    oid, state = order("100.00")
    pid, state, payment = paid(oid, state, "40.00")

    decision = refund_payment(RefundPayment(payment_id=pid, amount="40"), payment, state, ctx())

    (refunded,) = events_on(decision, "payment")
    (update,) = events_on(decision, "order")
    assert isinstance(refunded, PaymentRefunded)
    assert isinstance(update, OrderUpdated)
    assert refunded.status == PaymentStatus.REFUNDED
    assert (update.status, update.refunded_amount) == (OrderStatus.REFUNDED, Decimal("40.00"))


def test_refunding_one_of_two_payments_keeps_the_order_partially_paid() -> None:
    oid, state = order("100.00")
    first, state, first_payment = paid(oid, state, "30.00")
    _, state, _ = paid(oid, state, "70.00")

    decision = refund_payment(
        RefundPayment(payment_id=first, amount="30"), first_payment, state, ctx()
    )

    (update,) = events_on(decision, "order")
    assert isinstance(update, OrderUpdated)
    assert (update.status, update.refunded_amount) == (
        OrderStatus.PARTIALLY_PAID,
        Decimal("30.00"),
    )


def test_refund_above_the_refundable_amount_is_refused() -> None:
    oid, state = order("100.00")
    pid, state, payment = paid(oid, state, "100.00")
    first = refund_payment(RefundPayment(payment_id=pid, amount="70"), payment, state, ctx())
    payment, state = then(payment, first, "payment"), then(state, first, "order")

    error = rejected(
        ErrorCode.AMOUNT_EXCEEDS_REFUNDABLE,
        409,
        refund_payment,
        RefundPayment(payment_id=pid, amount="30.01"),
        payment,
        state,
        ctx(),
    )

    assert error.details == {"refundable": "30.00"}


def test_refund_of_an_unknown_payment_is_not_found() -> None:
    _, state = order()

    error = rejected(
        ErrorCode.NOT_FOUND,
        404,
        refund_payment,
        RefundPayment(payment_id="p-1", amount="1"),
        None,
        state,
        ctx(),
    )

    assert error.details == {"id": "p-1"}


def test_refund_whose_order_is_missing_is_not_found() -> None:
    oid, pid = new_id(), new_id()
    payment = given(payment_processed(pid, oid, USER, amount="10.00"))

    error = rejected(
        ErrorCode.NOT_FOUND,
        404,
        refund_payment,
        RefundPayment(payment_id=pid, amount="1"),
        payment,
        None,
        ctx(),
    )

    assert error.details == {"id": oid}
