"""The one error shape every service answers with: {"error": {code, message, details}}."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ErrorCode(StrEnum):
    """Stable machine-readable codes; clients may branch on them."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    COMMAND_DISABLED = "command_disabled"  # a built-in command type an admin disabled
    QUERY_DISABLED = "query_disabled"  # a built-in query type an admin disabled
    VALIDATION_FAILED = "validation_failed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    VERSION_CONFLICT = "version_conflict"
    STREAM_EXISTS = "stream_exists"  # an imported creation event names a stream in use
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # one key, another request
    EMAIL_TAKEN = "email_taken"
    USER_DELETED = "user_deleted"
    USER_FORGOTTEN = "user_forgotten"  # 410: erased at their request, for good
    ORDER_NOT_PENDING = "order_not_pending"
    ORDER_PAID = "order_paid"
    ORDER_CANCELLED = "order_cancelled"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_EXCEEDS_OUTSTANDING = "amount_exceeds_outstanding"
    AMOUNT_EXCEEDS_REFUNDABLE = "amount_exceeds_refundable"
    NOTHING_TO_CHANGE = "nothing_to_change"
    HISTORY_TOO_LONG = "history_too_long"  # time travel past query_service.time_travel_max_events
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
    TIMEOUT = "timeout"
    INTERNAL = "internal_error"


class FieldError(BaseModel):
    """One invalid field: where it is, what is wrong."""

    field: str
    message: str
    rule: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return ErrorBody(error=ErrorDetail(code=code, message=message, details=details)).model_dump(
        mode="json"
    )
