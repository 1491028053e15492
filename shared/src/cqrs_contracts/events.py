"""The data of each event type, at its current schema version.

Old versions stay readable: `cqrs_contracts.upcasting` lifts a stored payload of an
older schema version to the current one before it is parsed here.
"""

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from cqrs_contracts.money import Amount, Currency, OrderStatus, PaymentMethod, PaymentStatus
from cqrs_contracts.privacy import ERASED, OptionalPersonalStr, PersonalStr, personal_fields


class EventData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__


class UserCreated(EventData):
    """v2 added `age` (v1, as in the original service's example, had none)."""

    SCHEMA_VERSION = 2
    STREAM_TYPE = "user"
    user_id: str
    name: PersonalStr
    email: PersonalStr
    age: int | None = None
    created_at: datetime


class UserUpdated(EventData):
    STREAM_TYPE = "user"
    user_id: str
    name: OptionalPersonalStr = None
    email: OptionalPersonalStr = None
    age: int | None = None
    updated_at: datetime


class UserForgotten(UserUpdated):
    """The user asked to be forgotten: their data key is destroyed in the same
    transaction, so every personal value of theirs now reads as erased. An update to
    the erased placeholder, so every read model that shows a user's data erases it
    with the step it already has for updates."""

    name: OptionalPersonalStr = ERASED
    email: OptionalPersonalStr = ERASED


class UserDeleted(EventData):
    STREAM_TYPE = "user"
    user_id: str
    deleted_at: datetime


class OrderCreated(EventData):
    STREAM_TYPE = "order"
    order_id: str
    user_id: str
    amount: Amount
    currency: Currency
    description: str | None = None
    status: OrderStatus = OrderStatus.PENDING
    created_at: datetime


class OrderUpdated(EventData):
    """A change of an order's terms (amount, currency, description) or of its
    payment state (status, paid and refunded totals) after a payment or refund."""

    STREAM_TYPE = "order"
    order_id: str
    user_id: str | None = None  # the order's owner, so user views need no lookup
    amount: Amount | None = None
    currency: Currency | None = None
    description: str | None = None
    status: OrderStatus | None = None
    paid_amount: Amount | None = None
    refunded_amount: Amount | None = None
    payment_id: str | None = None
    updated_at: datetime


class OrderCancelled(EventData):
    STREAM_TYPE = "order"
    order_id: str
    user_id: str
    reason: str | None = None
    cancelled_at: datetime


class PaymentProcessed(EventData):
    STREAM_TYPE = "payment"
    payment_id: str
    order_id: str
    user_id: str
    amount: Amount
    currency: Currency
    method: PaymentMethod
    status: PaymentStatus = PaymentStatus.COMPLETED
    processed_at: datetime


class PaymentRefunded(EventData):
    STREAM_TYPE = "payment"
    payment_id: str
    order_id: str
    amount: Amount
    refunded_total: Amount
    status: PaymentStatus
    reason: str | None = None
    refunded_at: datetime


EVENT_TYPES: dict[str, type[EventData]] = {
    cls.__name__: cls
    for cls in (
        UserCreated,
        UserUpdated,
        UserForgotten,
        UserDeleted,
        OrderCreated,
        OrderUpdated,
        OrderCancelled,
        PaymentProcessed,
        PaymentRefunded,
    )
}

# event type -> the names of its personal fields (types without any are absent)
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    name: fields for name, cls in EVENT_TYPES.items() if (fields := personal_fields(cls))
}
