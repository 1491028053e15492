"""Envelopes built the way the event store builds them, and typed events with defaults.

`Log` appends events like the store: each stream gets versions 1, 2, ... and every
event the next global position; `fold` applies a log to one read model with `project`
(`stored=True`: the document goes through the read store's precision after each event,
as a live projector reads it back between batches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import uuid4

from cqrs_contracts.envelopes import EventEnvelope
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
from cqrs_contracts.read_models import ReadModel
from cqrs_read_store.precision import as_stored
from cqrs_read_store.projections.registry import BY_NAME, project

T0 = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)
STREAM_ID_FIELD = {"user": "user_id", "order": "order_id", "payment": "payment_id"}

Entry = tuple[EventEnvelope, EventData]
M = TypeVar("M", bound=ReadModel)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_id() -> str:
    return str(uuid4())


def envelope(
    event: EventData, version: int, position: int | None = None, stream_id: str | None = None
) -> EventEnvelope:
    """`event` stored as `version` of its stream (named by its id field unless given)."""
    return EventEnvelope(
        event_id=new_id(),
        position=position,
        stream_type=event.STREAM_TYPE,
        stream_id=stream_id or getattr(event, STREAM_ID_FIELD[event.STREAM_TYPE]),
        version=version,
        type=event.event_type(),
        schema_version=event.SCHEMA_VERSION,
        data=event.model_dump(mode="json"),
        occurred_at=at(position or 0),
    )


class Log:
    """Events in store order: positions 1, 2, ...; versions counted per stream."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._versions: dict[str, int] = {}

    def add(self, *events: EventData) -> Log:
        for event in events:
            stream = getattr(event, STREAM_ID_FIELD[event.STREAM_TYPE])
            self._versions[stream] = self._versions.get(stream, 0) + 1
            position = len(self.entries) + 1
            self.entries.append((envelope(event, self._versions[stream], position), event))
        return self

    @property
    def envelopes(self) -> list[EventEnvelope]:
        return [e for e, _ in self.entries]


def fold(model: type[M], doc_id: str, entries: list[Entry], *, stored: bool = False) -> M | None:
    """The document after every entry that targets it, applied with `project`."""
    projection = BY_NAME[model.NAME]
    doc: ReadModel | None = None
    for env, event in entries:
        if doc_id in projection.targets(event):
            doc = project(projection, doc, doc_id, env, event)
            if stored and doc is not None:
                doc = as_stored(doc)
    assert doc is None or isinstance(doc, model), doc
    return doc


# Events with sensible defaults; keyword arguments override any field.


def user_created(uid: str, **kw: object) -> UserCreated:
    data = {"name": "Ada", "email": "ada@example.com", "age": 36, "created_at": T0}
    return UserCreated.model_validate({"user_id": uid, **data, **kw})


def user_updated(uid: str, **kw: object) -> UserUpdated:
    return UserUpdated.model_validate({"user_id": uid, "updated_at": at(60), **kw})


def user_forgotten(uid: str) -> UserForgotten:
    return UserForgotten(user_id=uid, updated_at=at(90))


def user_deleted(uid: str) -> UserDeleted:
    return UserDeleted(user_id=uid, deleted_at=at(120))


def order_created(
    oid: str, uid: str, amount: str = "100.00", currency: str = "EUR", **kw: object
) -> OrderCreated:
    data = {"amount": amount, "currency": currency, "created_at": T0, **kw}
    return OrderCreated.model_validate({"order_id": oid, "user_id": uid, **data})


def order_updated(oid: str, uid: str | None, **kw: object) -> OrderUpdated:
    return OrderUpdated.model_validate(
        {"order_id": oid, "user_id": uid, "updated_at": at(60), **kw}
    )


def order_cancelled(oid: str, uid: str, reason: str | None = "changed my mind") -> OrderCancelled:
    return OrderCancelled(order_id=oid, user_id=uid, reason=reason, cancelled_at=at(90))


def payment_processed(
    pid: str, oid: str, uid: str, amount: str, currency: str = "EUR", **kw: object
) -> PaymentProcessed:
    data = {"method": "upi", "processed_at": T0, **kw}
    return PaymentProcessed.model_validate(
        {
            "payment_id": pid,
            "order_id": oid,
            "user_id": uid,
            "amount": amount,
            "currency": currency,
            **data,
        }
    )


def payment_refunded(
    pid: str, oid: str, amount: str, refunded_total: str, status: str
) -> PaymentRefunded:
    return PaymentRefunded.model_validate(
        {
            "payment_id": pid,
            "order_id": oid,
            "amount": amount,
            "refunded_total": refunded_total,
            "status": status,
            "reason": "damaged",
            "refunded_at": at(100),
        }
    )


def dec(value: str) -> Decimal:
    return Decimal(value)
