"""UserOrderReadModel: a user (user stream) with their orders (every order stream of
that user), with counts and totals per currency derived from the order list."""

from datetime import datetime

from cqrs_contracts.events import (
    EventData,
    OrderCancelled,
    OrderCreated,
    OrderUpdated,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from cqrs_contracts.read_models import CurrencyTotals, OrderSummary, UserOrderReadModel
from cqrs_read_store.precision import to_millisecond


def _totals(orders: list[OrderSummary]) -> dict[str, CurrencyTotals]:
    totals: dict[str, CurrencyTotals] = {}
    for o in orders:
        t = totals.get(o.currency, CurrencyTotals())
        totals[o.currency] = CurrencyTotals(
            orders=t.orders + 1,
            amount=t.amount + o.amount,
            paid=t.paid + o.paid_amount,
            refunded=t.refunded + o.refunded_amount,
        )
    return totals


def _by_creation(order: OrderSummary) -> tuple[bool, datetime | None, str]:
    """Creation time as the read store keeps it (milliseconds), then id: a replay in
    memory and a live document read back from the store order the same orders alike."""
    created = order.created_at
    return created is None, to_millisecond(created) if created else None, order.order_id


def _with_order(doc: UserOrderReadModel, summary: OrderSummary) -> UserOrderReadModel:
    orders = [o for o in doc.orders if o.order_id != summary.order_id] + [summary]
    orders.sort(key=_by_creation)
    return doc.model_copy(
        update={"orders": orders, "order_count": len(orders), "totals": _totals(orders)}
    )


def _order_event(doc: UserOrderReadModel, event: EventData) -> UserOrderReadModel:
    current = {o.order_id: o for o in doc.orders}
    match event:
        case OrderCreated():
            summary = OrderSummary(
                order_id=event.order_id,
                amount=event.amount,
                currency=event.currency,
                status=event.status,
                created_at=event.created_at,
            )
        case OrderUpdated() if event.order_id in current:
            changes = event.model_dump(
                include={"amount", "currency", "status", "paid_amount", "refunded_amount"},
                exclude_none=True,
            )
            summary = current[event.order_id].model_copy(update=changes)
        case OrderCancelled() if event.order_id in current:
            summary = current[event.order_id].model_copy(update={"status": "cancelled"})
        case _:
            return doc
    return _with_order(doc, summary)


def apply_user_orders(
    doc: UserOrderReadModel | None, event: EventData, owner: str
) -> UserOrderReadModel | None:
    base = doc or UserOrderReadModel(id=owner, totals={}, orders=[])
    match event:
        case UserCreated():
            return base.model_copy(update={"name": event.name, "email": event.email})
        case UserUpdated():
            return base.model_copy(
                update=event.model_dump(include={"name", "email"}, exclude_none=True)
            )
        case UserDeleted():
            return base.model_copy(update={"status": "deleted"})
        case OrderCreated() | OrderUpdated() | OrderCancelled():
            return _order_event(base, event)
    return doc


def user_order_targets(event: EventData) -> list[str]:
    match event:
        case UserCreated() | UserUpdated() | UserDeleted():
            return [event.user_id]
        case OrderCreated() | OrderCancelled():
            return [event.user_id]
        case OrderUpdated() if event.user_id:
            return [event.user_id]
    return []
