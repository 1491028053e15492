"""Given-when-then helpers for the pure write-side domain.

State is built the way the command service builds it: by folding a stream's events
with `evolve`. Time and new ids come in through a fixed `Context`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest

from command_service.domain.decisions import Context, Decision
from command_service.domain.errors import DomainError
from command_service.domain.model import Aggregate, evolve
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import (
    EventData,
    OrderCancelled,
    OrderCreated,
    PaymentProcessed,
    UserCreated,
    UserDeleted,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid4())


def ctx(new: str | None = None) -> Context:
    return Context(now=NOW, new_id=new or new_id())


def given(*events: EventData) -> Any:
    """The aggregate state after folding `events` (None when there are none)."""
    state: Aggregate | None = None
    for event in events:
        state = evolve(state, event)
    return state


def then(state: Any, decision: Decision, stream_type: str) -> Any:
    """`state` with the decision's events for `stream_type` folded onto it."""
    for event in events_on(decision, stream_type):
        state = evolve(state, event)
    return state


def events_on(decision: Decision, stream_type: str) -> tuple[EventData, ...]:
    """The events the decision appends to its one stream of `stream_type`."""
    changes = [c for c in decision.changes if c.stream_type == stream_type]
    assert len(changes) == 1, f"expected one {stream_type} change, got {decision.changes}"
    return changes[0].events


def only_event(decision: Decision) -> EventData:
    """The single event of a decision that touches a single stream."""
    assert len(decision.changes) == 1
    (event,) = decision.changes[0].events
    return event


def fields_of(error: DomainError) -> list[str]:
    """The fields a validation error names, in order."""
    fields = error.details["fields"]
    assert isinstance(fields, list), fields
    return [f["field"] for f in fields]


def rejected(code: ErrorCode, status: int, fn: Callable[..., Any], *args: Any) -> DomainError:
    """Assert that `fn(*args)` raises a domain error with `code` and `status`."""
    with pytest.raises(DomainError) as caught:
        fn(*args)
    assert caught.value.code == code
    assert caught.value.status == status
    return caught.value


# Events, with sensible defaults, to build the "given" part.


def user_created(
    user_id: str, email: str = "ada@example.com", name: str = "Ada", age: int | None = 36
) -> UserCreated:
    return UserCreated(user_id=user_id, name=name, email=email, age=age, created_at=NOW)


def user_deleted(user_id: str) -> UserDeleted:
    return UserDeleted(user_id=user_id, deleted_at=NOW)


def order_created(
    order_id: str, user_id: str, amount: str = "100.00", currency: str = "USD"
) -> OrderCreated:
    return OrderCreated.model_validate(
        {
            "order_id": order_id,
            "user_id": user_id,
            "amount": amount,
            "currency": currency,
            "description": "books",
            "created_at": NOW,
        }
    )


def order_cancelled(order_id: str, user_id: str) -> OrderCancelled:
    return OrderCancelled(order_id=order_id, user_id=user_id, cancelled_at=NOW)


def payment_processed(
    payment_id: str, order_id: str, user_id: str, amount: str = "100.00", currency: str = "USD"
) -> PaymentProcessed:
    return PaymentProcessed.model_validate(
        {
            "payment_id": payment_id,
            "order_id": order_id,
            "user_id": user_id,
            "amount": amount,
            "currency": currency,
            "method": "credit_card",
            "processed_at": NOW,
        }
    )


def d(value: str) -> Decimal:
    return Decimal(value)
