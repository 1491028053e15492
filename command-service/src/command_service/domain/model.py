"""Aggregate states, each rebuilt by folding its stream's events (`evolve`)."""

from dataclasses import dataclass, replace
from decimal import Decimal

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
from cqrs_contracts.money import OrderStatus, PaymentStatus
from cqrs_contracts.privacy import ERASED


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    age: int | None
    deleted: bool = False
    forgotten: bool = False  # asked to be forgotten: their personal data reads as erased


@dataclass(frozen=True)
class Order:
    order_id: str
    user_id: str
    amount: Decimal
    currency: str
    description: str | None
    status: str = OrderStatus.PENDING
    paid: Decimal = Decimal("0")
    refunded: Decimal = Decimal("0")

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.net_paid


@dataclass(frozen=True)
class Payment:
    payment_id: str
    order_id: str
    user_id: str
    amount: Decimal
    currency: str
    method: str
    refunded: Decimal = Decimal("0")
    status: str = PaymentStatus.COMPLETED

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded


Aggregate = User | Order | Payment


def _evolve_user(state: User | None, event: EventData) -> User | None:
    match event:
        case UserCreated():
            return User(event.user_id, event.name, event.email, event.age)
        case UserForgotten() if state is not None:  # an update too: before that case
            return replace(state, name=ERASED, email=ERASED, forgotten=True)
        case UserUpdated() if state is not None:
            return replace(
                state,
                name=event.name if event.name is not None else state.name,
                email=event.email if event.email is not None else state.email,
                age=event.age if event.age is not None else state.age,
            )
        case UserDeleted() if state is not None:
            return replace(state, deleted=True)
    return state


def _evolve_order(state: Order | None, event: EventData) -> Order | None:
    match event:
        case OrderCreated():
            return Order(
                event.order_id, event.user_id, event.amount, event.currency, event.description
            )
        case OrderUpdated() if state is not None:
            return replace(
                state,
                amount=event.amount if event.amount is not None else state.amount,
                currency=event.currency if event.currency is not None else state.currency,
                description=event.description
                if event.description is not None
                else state.description,
                status=event.status if event.status is not None else state.status,
                paid=event.paid_amount if event.paid_amount is not None else state.paid,
                refunded=event.refunded_amount
                if event.refunded_amount is not None
                else state.refunded,
            )
        case OrderCancelled() if state is not None:
            return replace(state, status=OrderStatus.CANCELLED)
    return state


def _evolve_payment(state: Payment | None, event: EventData) -> Payment | None:
    match event:
        case PaymentProcessed():
            return Payment(
                event.payment_id,
                event.order_id,
                event.user_id,
                event.amount,
                event.currency,
                event.method,
            )
        case PaymentRefunded() if state is not None:
            return replace(state, refunded=event.refunded_total, status=event.status)
    return state


def evolve(state: Aggregate | None, event: EventData) -> Aggregate | None:
    """The state after `event`. Events of another stream type leave it as it is."""
    if event.STREAM_TYPE == "user" and not isinstance(state, Order | Payment):
        return _evolve_user(state, event)
    if event.STREAM_TYPE == "order" and not isinstance(state, User | Payment):
        return _evolve_order(state, event)
    if event.STREAM_TYPE == "payment" and not isinstance(state, User | Order):
        return _evolve_payment(state, event)
    return state
