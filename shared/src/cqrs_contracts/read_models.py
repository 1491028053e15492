"""The read models as clients see them (how they are stored, collections and indexes:
the cqrs-read-store package). Every document records, per source stream,
the version it has applied (`versions`), so redelivered and replayed events are
skipped and no event is applied over a gap."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cqrs_contracts.money import Amount


class ReadModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    NAME: ClassVar[str]
    id: str
    versions: dict[str, int] = Field(default_factory=dict)
    last_position: int = 0  # the highest global event position applied
    updated_at: datetime | None = None

    @property
    def version(self) -> int:
        """The version of the document's own stream (its id names that stream)."""
        return self.versions.get(self.id, 0)


class UserReadModel(ReadModel):
    NAME = "UserReadModel"
    name: str = ""
    email: str = ""
    age: int | None = None
    status: str = "active"  # active | deleted
    created_at: datetime | None = None
    deleted_at: datetime | None = None


class OrderReadModel(ReadModel):
    NAME = "OrderReadModel"
    user_id: str = ""
    amount: Amount = Decimal("0")
    currency: str = ""
    description: str | None = None
    status: str = "pending"
    paid_amount: Amount = Decimal("0")
    refunded_amount: Amount = Decimal("0")
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


class PaymentReadModel(ReadModel):
    NAME = "PaymentReadModel"
    order_id: str = ""
    user_id: str = ""
    amount: Amount = Decimal("0")
    currency: str = ""
    method: str = ""
    status: str = "completed"
    refunded_amount: Amount = Decimal("0")
    processed_at: datetime | None = None


class OrderSummary(BaseModel):
    order_id: str
    amount: Amount
    currency: str
    status: str
    paid_amount: Amount = Decimal("0")
    refunded_amount: Amount = Decimal("0")
    created_at: datetime | None = None


class CurrencyTotals(BaseModel):
    orders: int = 0
    amount: Amount = Decimal("0")
    paid: Amount = Decimal("0")
    refunded: Amount = Decimal("0")


class UserOrderReadModel(ReadModel):
    """A user with their orders, counts and totals per currency."""

    NAME = "UserOrderReadModel"
    name: str = ""
    email: str = ""
    status: str = "active"
    orders: list[OrderSummary] = Field(default_factory=list)
    order_count: int = 0
    totals: dict[str, CurrencyTotals] = Field(default_factory=dict)


class PaymentSummary(BaseModel):
    payment_id: str
    amount: Amount
    method: str
    status: str
    refunded_amount: Amount = Decimal("0")
    processed_at: datetime | None = None


class OrderPaymentReadModel(ReadModel):
    """An order with its payments: paid, refunded and the balance still due."""

    NAME = "OrderPaymentReadModel"
    user_id: str = ""
    amount: Amount = Decimal("0")
    currency: str = ""
    status: str = "pending"
    payments: list[PaymentSummary] = Field(default_factory=list)
    paid: Amount = Decimal("0")
    refunded: Amount = Decimal("0")
    balance: Amount = Decimal("0")


READ_MODELS: dict[str, type[ReadModel]] = {
    cls.NAME: cls
    for cls in (
        UserReadModel,
        OrderReadModel,
        PaymentReadModel,
        UserOrderReadModel,
        OrderPaymentReadModel,
    )
}


class ChangeNotification(BaseModel):
    """Published on Redis after a read model changed; query replicas fan it out."""

    read_model: str
    id: str
    version: int
    position: int
    data: dict[str, object] | None  # None when the document was removed
    traceparent: str | None = None  # the projector's span: the WebSocket push continues it
    # when the change passed each stage, epoch milliseconds: "kafka" (the record's
    # timestamp, set when the relay sent it), "received" (the projector took it from the
    # topic), "stored" (its read models were written); freshness per stage without guesses
    timings: dict[str, float] | None = None
