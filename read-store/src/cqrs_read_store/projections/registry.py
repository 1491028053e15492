"""Every projection, and `project`: the one pure step that applies an event to a read
model and records the stream version it reached."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import EVENT_TYPES, EventData
from cqrs_contracts.read_models import (
    OrderPaymentReadModel,
    OrderReadModel,
    PaymentReadModel,
    ReadModel,
    UserOrderReadModel,
    UserReadModel,
)
from cqrs_read_store.projections.order_payments import apply_order_payments, order_payment_targets
from cqrs_read_store.projections.orders import apply_order, order_targets
from cqrs_read_store.projections.payments import apply_payment, payment_targets
from cqrs_read_store.projections.user_orders import apply_user_orders, user_order_targets
from cqrs_read_store.projections.users import apply_user, user_targets

# apply(document or None, event, document id) -> document (None: nothing to store)
Apply = Callable[[Any, EventData, str], Any]


@dataclass(frozen=True)
class Projection:
    model: type[ReadModel]
    targets: Callable[[EventData], list[str]]
    apply: Apply


PROJECTIONS: tuple[Projection, ...] = (
    Projection(UserReadModel, user_targets, lambda d, e, _: apply_user(d, e)),
    Projection(OrderReadModel, order_targets, lambda d, e, _: apply_order(d, e)),
    Projection(PaymentReadModel, payment_targets, lambda d, e, _: apply_payment(d, e)),
    Projection(UserOrderReadModel, user_order_targets, apply_user_orders),
    Projection(OrderPaymentReadModel, order_payment_targets, apply_order_payments),
)
BY_NAME = {p.model.NAME: p for p in PROJECTIONS}


def decoded(envelope: EventEnvelope) -> EventData | None:
    """The typed data of an envelope already at its current version (None: a type no
    read model projects)."""
    cls = EVENT_TYPES.get(envelope.type)
    return cls.model_validate(envelope.data) if cls is not None else None


class StaleEventError(ValueError):
    """The event is not the next version of its stream for this document."""


def project(
    projection: Projection,
    doc: ReadModel | None,
    doc_id: str,
    envelope: EventEnvelope,
    event: EventData,
) -> ReadModel | None:
    """`doc` after `event`, which must be the next version of its stream for `doc`."""
    applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
    if envelope.version != applied + 1:
        raise StaleEventError(
            f"{projection.model.NAME} {doc_id}: {envelope.stream_id} is at {applied}, "
            f"event is v{envelope.version}"
        )
    result: ReadModel | None = projection.apply(doc, event, doc_id)
    if result is None:
        return None
    versions = {**result.versions, envelope.stream_id: envelope.version}
    return result.model_copy(
        update={
            "versions": versions,
            "last_position": max(result.last_position, envelope.position or 0),
            # max, not last: documents fed by several streams must not depend on the
            # order in which partitions deliver
            "updated_at": max(filter(None, (result.updated_at, envelope.occurred_at))),
        }
    )
