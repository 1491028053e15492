"""Money and enumerations that commands, events and read models all use."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

CENT = Decimal("0.01")


# Exact decimal amounts in cents ("40" becomes 40.00); serialised in JSON as strings
# ("12.50") so nothing is rounded on the way.
def _from_store(value: object) -> object:
    """Read stores hand back BSON Decimal128; take its exact decimal."""
    to_decimal = getattr(value, "to_decimal", None)
    return to_decimal() if callable(to_decimal) else value


Amount = Annotated[
    Decimal,
    BeforeValidator(_from_store),
    Field(max_digits=14, decimal_places=2),
    AfterValidator(lambda d: d.quantize(CENT)),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


class Currency(StrEnum):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"
    INR = "INR"


class PaymentMethod(StrEnum):
    CREDIT_CARD = "credit_card"
    DEBIT_CARD = "debit_card"
    NET_BANKING = "net_banking"
    UPI = "upi"
    WALLET = "wallet"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    COMPLETED = "completed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
