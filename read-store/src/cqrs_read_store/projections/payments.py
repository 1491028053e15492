"""PaymentReadModel: one document per payment stream."""

from cqrs_contracts.events import EventData, PaymentProcessed, PaymentRefunded
from cqrs_contracts.read_models import PaymentReadModel


def apply_payment(doc: PaymentReadModel | None, event: EventData) -> PaymentReadModel | None:
    match event:
        case PaymentProcessed():
            return PaymentReadModel(
                id=event.payment_id,
                order_id=event.order_id,
                user_id=event.user_id,
                amount=event.amount,
                currency=event.currency,
                method=event.method,
                status=event.status,
                processed_at=event.processed_at,
            )
        case PaymentRefunded():
            base = doc or PaymentReadModel(id=event.payment_id, order_id=event.order_id)
            return base.model_copy(
                update={"status": event.status, "refunded_amount": event.refunded_total}
            )
    return doc


def payment_targets(event: EventData) -> list[str]:
    if isinstance(event, PaymentProcessed | PaymentRefunded):
        return [event.payment_id]
    return []
