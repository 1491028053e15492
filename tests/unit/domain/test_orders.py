"""Orders: given events, when a command, then events or an error."""

from decimal import Decimal

from command_service.domain.decisions import (
    cancel_order,
    create_order,
    process_payment,
    refund_payment,
    update_order,
)
from command_service.domain.model import Order, Payment
from cqrs_contracts.commands import (
    CancelOrder,
    CreateOrder,
    ProcessPayment,
    RefundPayment,
    UpdateOrder,
)
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import OrderCancelled, OrderCreated, OrderUpdated
from cqrs_contracts.money import Currency, OrderStatus
from tests.unit.domain.helpers import (
    NOW,
    ctx,
    fields_of,
    given,
    new_id,
    only_event,
    order_cancelled,
    order_created,
    payment_processed,
    rejected,
    then,
    user_created,
    user_deleted,
)

USER = new_id()


def pending_order(amount: str = "100.00") -> tuple[str, Order]:
    oid = new_id()
    return oid, given(order_created(oid, USER, amount=amount))


def paid(oid: str, state: Order, amount: str) -> tuple[str, Order, Payment]:
    """The order after a payment of `amount`, plus the payment's id and state."""
    pid = new_id()
    cmd = ProcessPayment(order_id=oid, amount=amount, currency="USD", method="upi")
    decision = process_payment(cmd, state, ctx(pid))
    return pid, then(state, decision, "order"), then(None, decision, "payment")


# CreateOrder


def test_create_order_emits_order_created_pending() -> None:
    oid = new_id()
    cmd = CreateOrder(user_id=USER, amount="49.90", currency="EUR", description="tea")

    decision = create_order(cmd, given(user_created(USER)), ctx(oid))

    assert decision.aggregate_id == oid
    assert decision.changes[0].stream_type == "order"
    assert only_event(decision) == OrderCreated(
        order_id=oid,
        user_id=USER,
        amount=Decimal("49.90"),
        currency=Currency.EUR,
        description="tea",
        status=OrderStatus.PENDING,
        created_at=NOW,
    )


def test_create_order_for_an_unknown_user_is_not_found() -> None:
    cmd = CreateOrder(user_id=USER, amount="1", currency="USD")

    rejected(ErrorCode.NOT_FOUND, 404, create_order, cmd, None, ctx())


def test_create_order_for_a_deleted_user_is_refused() -> None:
    cmd = CreateOrder(user_id=USER, amount="1", currency="USD")
    state = given(user_created(USER), user_deleted(USER))

    rejected(ErrorCode.USER_DELETED, 409, create_order, cmd, state, ctx())


def test_create_order_without_amount_and_currency_is_invalid() -> None:
    error = rejected(
        ErrorCode.VALIDATION_FAILED,
        422,
        create_order,
        CreateOrder(user_id=USER),
        given(user_created(USER)),
        ctx(),
    )

    assert fields_of(error) == ["amount", "currency"]


# UpdateOrder


def test_update_pending_order_emits_only_the_changed_terms() -> None:
    oid, state = pending_order("100.00")
    cmd = UpdateOrder(order_id=oid, amount="120.00", currency="USD", description="books")

    decision = update_order(cmd, state, ctx())

    assert only_event(decision) == OrderUpdated(
        order_id=oid, user_id=USER, amount=Decimal("120.00"), updated_at=NOW
    )
    after = then(state, decision, "order")
    assert (after.amount, after.status) == (Decimal("120.00"), OrderStatus.PENDING)


def test_update_order_currency_is_a_change() -> None:
    oid, state = pending_order()

    decision = update_order(UpdateOrder(order_id=oid, currency="GBP"), state, ctx())

    assert then(state, decision, "order").currency == Currency.GBP


def test_update_order_that_changes_nothing_is_refused() -> None:
    oid, state = pending_order("100.00")
    same = UpdateOrder(order_id=oid, amount="100", currency="USD")

    rejected(ErrorCode.NOTHING_TO_CHANGE, 409, update_order, same, state, ctx())


def test_update_of_an_unknown_order_is_not_found() -> None:
    cmd = UpdateOrder(order_id=new_id(), amount="5")

    rejected(ErrorCode.NOT_FOUND, 404, update_order, cmd, None, ctx())


def test_update_order_after_a_payment_is_refused() -> None:
    oid, state = pending_order("100.00")
    _, state, _ = paid(oid, state, "10.00")
    assert state.status == OrderStatus.PARTIALLY_PAID

    cmd = UpdateOrder(order_id=oid, amount="200.00")
    rejected(ErrorCode.ORDER_NOT_PENDING, 409, update_order, cmd, state, ctx())


def test_update_of_a_cancelled_order_is_refused() -> None:
    oid = new_id()
    state = given(order_created(oid, USER), order_cancelled(oid, USER))

    cmd = UpdateOrder(order_id=oid, description="late")
    rejected(ErrorCode.ORDER_NOT_PENDING, 409, update_order, cmd, state, ctx())


# CancelOrder


def test_cancel_pending_order_emits_order_cancelled() -> None:
    oid, state = pending_order()

    decision = cancel_order(CancelOrder(order_id=oid, reason="changed mind"), state, ctx())

    assert only_event(decision) == OrderCancelled(
        order_id=oid, user_id=USER, reason="changed mind", cancelled_at=NOW
    )
    assert then(state, decision, "order").status == OrderStatus.CANCELLED


def test_cancel_of_an_unknown_order_is_not_found() -> None:
    rejected(ErrorCode.NOT_FOUND, 404, cancel_order, CancelOrder(order_id=new_id()), None, ctx())


def test_cancel_of_a_cancelled_order_is_refused() -> None:
    oid = new_id()
    state = given(order_created(oid, USER), order_cancelled(oid, USER))

    rejected(ErrorCode.ORDER_CANCELLED, 409, cancel_order, CancelOrder(order_id=oid), state, ctx())


def test_cancel_with_money_paid_is_refused() -> None:
    oid, state = pending_order("100.00")
    _, state, _ = paid(oid, state, "0.01")

    rejected(ErrorCode.ORDER_PAID, 409, cancel_order, CancelOrder(order_id=oid), state, ctx())


def test_cancel_after_a_partial_refund_is_still_refused() -> None:
    oid, order = pending_order("100.00")
    pid, order, payment = paid(oid, order, "100.00")
    refund = refund_payment(RefundPayment(payment_id=pid, amount="60"), payment, order, ctx())
    order = then(order, refund, "order")

    rejected(ErrorCode.ORDER_PAID, 409, cancel_order, CancelOrder(order_id=oid), order, ctx())


def test_cancel_after_a_full_refund_is_allowed() -> None:
    oid, order = pending_order("100.00")
    pid, order, payment = paid(oid, order, "100.00")
    refund = refund_payment(RefundPayment(payment_id=pid, amount="100"), payment, order, ctx())
    order = then(order, refund, "order")
    assert order.status == OrderStatus.REFUNDED

    decision = cancel_order(CancelOrder(order_id=oid), order, ctx())

    assert isinstance(only_event(decision), OrderCancelled)


def test_order_state_ignores_events_of_other_streams() -> None:
    oid = new_id()
    state = given(order_created(oid, USER), payment_processed(new_id(), oid, USER))

    assert (state.paid, state.status) == (Decimal("0"), OrderStatus.PENDING)
