"""OrderReadModel: one document per order stream."""

from cqrs_contracts.events import EventData, OrderCancelled, OrderCreated, OrderUpdated
from cqrs_contracts.read_models import OrderReadModel

ORDER_TERMS = {"amount", "currency", "description", "status", "paid_amount", "refunded_amount"}


def apply_order(doc: OrderReadModel | None, event: EventData) -> OrderReadModel | None:
    match event:
        case OrderCreated():
            return OrderReadModel(
                id=event.order_id,
                user_id=event.user_id,
                amount=event.amount,
                currency=event.currency,
                description=event.description,
                status=event.status,
                created_at=event.created_at,
            )
        case OrderUpdated():
            base = doc or OrderReadModel(id=event.order_id, user_id=event.user_id or "")
            changes = event.model_dump(include=ORDER_TERMS, exclude_none=True)
            return base.model_copy(update=changes)
        case OrderCancelled():
            base = doc or OrderReadModel(id=event.order_id, user_id=event.user_id)
            return base.model_copy(
                update={
                    "status": "cancelled",
                    "cancelled_at": event.cancelled_at,
                    "cancel_reason": event.reason,
                }
            )
    return doc


def order_targets(event: EventData) -> list[str]:
    if isinstance(event, OrderCreated | OrderUpdated | OrderCancelled):
        return [event.order_id]
    return []
