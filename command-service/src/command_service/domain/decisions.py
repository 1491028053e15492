"""Decide: given a command and the current state of the aggregates it touches, the
new events (or a domain error). Pure: time and new ids come in through `Context`."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from command_service.domain.errors import (
    ForgottenError,
    InvalidCommandError,
    NotFoundError,
    RuleBrokenError,
)
from command_service.domain.model import Order, Payment, User
from cqrs_contracts import commands as cmd
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import (
    EventData,
    OrderCancelled,
    OrderCreated,
    OrderUpdated,
    PaymentProcessed,
    PaymentRefunded,
    UserCreated,
    UserDeleted,
    UserForgotten,
    UserUpdated,
)
from cqrs_contracts.money import Currency, OrderStatus, PaymentMethod, PaymentStatus

EMAIL_SCOPE = "user_email"


@dataclass(frozen=True)
class Context:
    now: datetime
    new_id: str


@dataclass(frozen=True)
class StreamChange:
    stream_type: str
    stream_id: str
    events: tuple[EventData, ...]


@dataclass(frozen=True)
class UniqueClaim:
    """A value that must be unique across aggregates (set validation on the write side)."""

    scope: str
    value: str
    owner: str


@dataclass(frozen=True)
class Decision:
    aggregate_id: str
    changes: tuple[StreamChange, ...]
    claims: tuple[UniqueClaim, ...] = field(default=())
    releases: tuple[UniqueClaim, ...] = field(default=())


def email_claim(email: str, owner: str) -> UniqueClaim:
    return UniqueClaim(EMAIL_SCOPE, email.strip().lower(), owner)


def _one(stream_type: str, stream_id: str, *events: EventData) -> tuple[StreamChange, ...]:
    return (StreamChange(stream_type, stream_id, events),)


def _require(**values: object) -> None:
    """Refuse a command lacking a field the model needs (config validation may be off)."""
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise InvalidCommandError(
            ErrorCode.VALIDATION_FAILED,
            "missing required fields",
            fields=[{"field": f, "message": "is required"} for f in missing],
        )


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise InvalidCommandError(ErrorCode.VALIDATION_FAILED, "amount must be positive")
    return amount


def _currency(value: str) -> Currency:
    if value not in Currency.__members__:
        raise InvalidCommandError(ErrorCode.VALIDATION_FAILED, f"unknown currency {value!r}")
    return Currency(value)


def _method(value: str) -> PaymentMethod:
    if value not in {m.value for m in PaymentMethod}:
        raise InvalidCommandError(ErrorCode.VALIDATION_FAILED, f"unknown payment method {value!r}")
    return PaymentMethod(value)


def _known_user(user: User | None, user_id: str) -> User:
    """The user, unless they never were or were forgotten (deleted ones count)."""
    if user is None:
        raise NotFoundError("user", user_id)
    if user.forgotten:
        raise ForgottenError(user_id)
    return user


def _live_user(user: User | None, user_id: str) -> User:
    user = _known_user(user, user_id)
    if user.deleted:
        raise RuleBrokenError(ErrorCode.USER_DELETED, f"user {user_id} is deleted")
    return user


def _existing_order(order: Order | None, order_id: str) -> Order:
    if order is None:
        raise NotFoundError("order", order_id)
    return order


def _payment_status(order: Order, paid: Decimal, refunded: Decimal) -> OrderStatus:
    net = paid - refunded
    if net >= order.amount:
        return OrderStatus.PAID
    if net > 0:
        return OrderStatus.PARTIALLY_PAID
    return OrderStatus.REFUNDED if refunded > 0 else OrderStatus.PENDING


def create_user(c: cmd.CreateUser, ctx: Context) -> Decision:
    _require(name=c.name, email=c.email)
    if c.name is None or c.email is None:  # narrowed by _require
        raise AssertionError
    uid = ctx.new_id
    event = UserCreated(user_id=uid, name=c.name, email=c.email, age=c.age, created_at=ctx.now)
    return Decision(uid, _one("user", uid, event), claims=(email_claim(c.email, uid),))


def update_user(c: cmd.UpdateUser, user: User | None, ctx: Context) -> Decision:
    current = _live_user(user, c.user_id)
    changed = {
        name: value
        for name, value in (("name", c.name), ("email", c.email), ("age", c.age))
        if value is not None and value != getattr(current, name)
    }
    if not changed:
        raise RuleBrokenError(ErrorCode.NOTHING_TO_CHANGE, "the update changes nothing")
    event = UserUpdated(user_id=c.user_id, updated_at=ctx.now, **changed)
    claims: tuple[UniqueClaim, ...] = ()
    releases: tuple[UniqueClaim, ...] = ()
    if c.email is not None and email_claim(c.email, "") != email_claim(current.email, ""):
        claims = (email_claim(c.email, c.user_id),)
        releases = (email_claim(current.email, c.user_id),)
    return Decision(c.user_id, _one("user", c.user_id, event), claims, releases)


def delete_user(c: cmd.DeleteUser, user: User | None, ctx: Context) -> Decision:
    current = _live_user(user, c.user_id)
    event = UserDeleted(user_id=c.user_id, deleted_at=ctx.now)
    releases = (email_claim(current.email, c.user_id),)
    return Decision(c.user_id, _one("user", c.user_id, event), releases=releases)


def forget_user(c: cmd.ForgetUser, user: User | None, ctx: Context) -> Decision:
    """Forget a user, deleted or not: their email is free again (a deleted user's was
    freed by the deletion); the adapter destroys their data key with the event."""
    current = _known_user(user, c.user_id)
    event = UserForgotten(user_id=c.user_id, updated_at=ctx.now)
    releases = () if current.deleted else (email_claim(current.email, c.user_id),)
    return Decision(c.user_id, _one("user", c.user_id, event), releases=releases)


def create_order(c: cmd.CreateOrder, user: User | None, ctx: Context) -> Decision:
    _require(user_id=c.user_id, amount=c.amount, currency=c.currency)
    if c.user_id is None or c.amount is None or c.currency is None:  # narrowed by _require
        raise AssertionError
    _live_user(user, c.user_id)
    oid = ctx.new_id
    event = OrderCreated(
        order_id=oid,
        user_id=c.user_id,
        amount=_positive(c.amount),
        currency=_currency(c.currency),
        description=c.description,
        created_at=ctx.now,
    )
    return Decision(oid, _one("order", oid, event))


def update_order(c: cmd.UpdateOrder, order: Order | None, ctx: Context) -> Decision:
    if c.amount is not None:
        _positive(c.amount)
    if c.currency is not None:
        _currency(c.currency)
    current = _existing_order(order, c.order_id)
    if current.status != OrderStatus.PENDING:
        raise RuleBrokenError(
            ErrorCode.ORDER_NOT_PENDING,
            f"order {c.order_id} is {current.status}; only pending orders can be updated",
        )
    changed = {
        name: value
        for name, value in (
            ("amount", c.amount),
            ("currency", c.currency),
            ("description", c.description),
        )
        if value is not None and value != getattr(current, name)
    }
    if not changed:
        raise RuleBrokenError(ErrorCode.NOTHING_TO_CHANGE, "the update changes nothing")
    event = OrderUpdated.model_validate(
        {"order_id": c.order_id, "user_id": current.user_id, "updated_at": ctx.now, **changed}
    )
    return Decision(c.order_id, _one("order", c.order_id, event))


def cancel_order(c: cmd.CancelOrder, order: Order | None, ctx: Context) -> Decision:
    current = _existing_order(order, c.order_id)
    if current.status == OrderStatus.CANCELLED:
        raise RuleBrokenError(ErrorCode.ORDER_CANCELLED, f"order {c.order_id} is already cancelled")
    if current.net_paid > 0:
        raise RuleBrokenError(
            ErrorCode.ORDER_PAID,
            f"order {c.order_id} has payments of {current.net_paid}; refund them first",
        )
    event = OrderCancelled(
        order_id=c.order_id, user_id=current.user_id, reason=c.reason, cancelled_at=ctx.now
    )
    return Decision(c.order_id, _one("order", c.order_id, event))


def process_payment(c: cmd.ProcessPayment, order: Order | None, ctx: Context) -> Decision:
    _require(order_id=c.order_id, amount=c.amount, currency=c.currency, method=c.method)
    if c.order_id is None or c.amount is None or c.currency is None or c.method is None:
        raise AssertionError  # narrowed by _require
    amount, currency, method = _positive(c.amount), _currency(c.currency), _method(c.method)
    current = _existing_order(order, c.order_id)
    if current.status not in (OrderStatus.PENDING, OrderStatus.PARTIALLY_PAID):
        raise RuleBrokenError(
            ErrorCode.ORDER_NOT_PENDING, f"order {c.order_id} is {current.status}; cannot be paid"
        )
    if c.currency != current.currency:
        raise RuleBrokenError(
            ErrorCode.CURRENCY_MISMATCH,
            f"payment currency {c.currency} differs from the order's {current.currency}",
        )
    if c.amount > current.outstanding:
        raise RuleBrokenError(
            ErrorCode.AMOUNT_EXCEEDS_OUTSTANDING,
            f"amount {c.amount} exceeds the outstanding {current.outstanding}",
            outstanding=str(current.outstanding),
        )
    pid = ctx.new_id
    paid = current.paid + c.amount
    payment = PaymentProcessed(
        payment_id=pid,
        order_id=c.order_id,
        user_id=current.user_id,
        amount=amount,
        currency=currency,
        method=method,
        processed_at=ctx.now,
    )
    order_update = OrderUpdated(
        order_id=c.order_id,
        user_id=current.user_id,
        status=_payment_status(current, paid, current.refunded),
        paid_amount=paid,
        payment_id=pid,
        updated_at=ctx.now,
    )
    changes = (
        StreamChange("payment", pid, (payment,)),
        StreamChange("order", c.order_id, (order_update,)),
    )
    return Decision(pid, changes)


def refund_payment(
    c: cmd.RefundPayment, payment: Payment | None, order: Order | None, ctx: Context
) -> Decision:
    if payment is None:
        raise NotFoundError("payment", c.payment_id)
    current_order = _existing_order(order, payment.order_id)
    if c.amount > payment.refundable:
        raise RuleBrokenError(
            ErrorCode.AMOUNT_EXCEEDS_REFUNDABLE,
            f"amount {c.amount} exceeds the refundable {payment.refundable}",
            refundable=str(payment.refundable),
        )
    refunded_total = payment.refunded + c.amount
    status = (
        PaymentStatus.REFUNDED
        if refunded_total == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    refund = PaymentRefunded(
        payment_id=c.payment_id,
        order_id=payment.order_id,
        amount=c.amount,
        refunded_total=refunded_total,
        status=status,
        reason=c.reason,
        refunded_at=ctx.now,
    )
    order_refunded = current_order.refunded + c.amount
    order_update = OrderUpdated(
        order_id=payment.order_id,
        user_id=current_order.user_id,
        status=_payment_status(current_order, current_order.paid, order_refunded),
        refunded_amount=order_refunded,
        payment_id=c.payment_id,
        updated_at=ctx.now,
    )
    changes = (
        StreamChange("payment", c.payment_id, (refund,)),
        StreamChange("order", payment.order_id, (order_update,)),
    )
    return Decision(c.payment_id, changes)
