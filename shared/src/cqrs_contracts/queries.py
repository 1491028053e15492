"""The query types: what a caller may ask, field by field. Values are typed scalars, so
an operator object such as {"$ne": null} is refused before anything reaches the store.
Filters and sort fields are fixed per query: nothing else can reach MongoDB."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

MAX_LIMIT = 100
MAX_VERSION = 2**31 - 1  # the event store's version column
AS_OF_RULE = (
    "a version of the document's own stream (an integer >= 1) or an ISO-8601 time with its zone"
)


def _as_of(value: Any) -> int | datetime:
    """A version (an int, or a string of digits as a URL gives it) or an aware time."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            value = int(text)
        else:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"as_of must be {AS_OF_RULE}") from None
    if isinstance(value, bool) or not isinstance(value, int | datetime):
        raise ValueError(f"as_of must be {AS_OF_RULE}")
    if isinstance(value, int) and not 1 <= value <= MAX_VERSION:
        raise ValueError(f"as_of must be {AS_OF_RULE}")
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError(f"as_of must be {AS_OF_RULE}: this time has no zone")
    return value


# A point in a document's past: a version of its own stream, or a time.
AsOf = Annotated[int | datetime, BeforeValidator(_as_of)]


class QueryData(BaseModel):
    # Unknown keys are refused: a misspelt filter must not silently match everything.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    READ_MODEL: ClassVar[str]


class PastQuery(QueryData):
    """A get query that can answer as of a point in the document's past (time travel)."""

    ID_FIELD: ClassVar[str]
    as_of: AsOf | None = None


class GetById(PastQuery):
    ID_FIELD: ClassVar[str] = "id"
    id: str = Field(min_length=1, max_length=64)


class ListQuery(QueryData):
    # sortable fields, the first is the default
    SORTS: ClassVar[tuple[str, ...]] = ("created_at",)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=500)
    sort: str | None = None
    order: Literal["asc", "desc"] = "desc"


class GetUser(GetById):
    READ_MODEL = "UserReadModel"


class ListUsers(ListQuery):
    READ_MODEL = "UserReadModel"
    SORTS = ("created_at", "name", "email", "age")
    status: Literal["active", "deleted"] | None = None
    name: str | None = Field(default=None, max_length=100)  # case-insensitive substring
    email: str | None = Field(default=None, max_length=320)  # case-insensitive substring
    min_age: int | None = Field(default=None, ge=0, le=200)
    max_age: int | None = Field(default=None, ge=0, le=200)
    created_from: datetime | None = None
    created_to: datetime | None = None


class GetOrder(GetById):
    READ_MODEL = "OrderReadModel"


class ListOrders(ListQuery):
    READ_MODEL = "OrderReadModel"
    SORTS = ("created_at", "amount", "status")
    user_id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=30)
    currency: str | None = Field(default=None, max_length=3)
    min_amount: Decimal | None = Field(default=None, ge=0)
    max_amount: Decimal | None = Field(default=None, ge=0)
    created_from: datetime | None = None
    created_to: datetime | None = None


class GetPayment(GetById):
    READ_MODEL = "PaymentReadModel"


class ListPayments(ListQuery):
    READ_MODEL = "PaymentReadModel"
    SORTS = ("processed_at", "amount")
    order_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=64)
    method: str | None = Field(default=None, max_length=30)
    status: str | None = Field(default=None, max_length=30)
    currency: str | None = Field(default=None, max_length=3)
    min_amount: Decimal | None = Field(default=None, ge=0)
    max_amount: Decimal | None = Field(default=None, ge=0)
    processed_from: datetime | None = None
    processed_to: datetime | None = None


class GetUserOrders(PastQuery):
    READ_MODEL = "UserOrderReadModel"
    ID_FIELD: ClassVar[str] = "user_id"
    user_id: str = Field(
        min_length=1, max_length=64, validation_alias=AliasChoices("user_id", "id")
    )


class GetOrderPayments(PastQuery):
    READ_MODEL = "OrderPaymentReadModel"
    ID_FIELD: ClassVar[str] = "order_id"
    order_id: str = Field(
        min_length=1, max_length=64, validation_alias=AliasChoices("order_id", "id")
    )


QUERY_TYPES: dict[str, type[QueryData]] = {
    cls.__name__: cls
    for cls in (
        GetUser,
        ListUsers,
        GetOrder,
        ListOrders,
        GetPayment,
        ListPayments,
        GetUserOrders,
        GetOrderPayments,
    )
}


class QueryRequest(BaseModel):
    """The body of POST /api/v1/cqrs/queries; `{type, data}` as in the original."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=100)
    data: dict[str, object] = Field(default_factory=dict)
    allow_stale: bool = False  # past the consistency wait: stale data instead of 504
