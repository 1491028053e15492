"""OrderPaymentReadModel: an order (order stream) with its payments (their payment
streams); paid, refunded and balance derived from the payment list."""

from datetime import datetime
from decimal import Decimal

from cqrs_contracts.events import (
    EventData,
    OrderCancelled,
    OrderCreated,
    OrderUpdated,
    PaymentProcessed,
    PaymentRefunded,
)
from cqrs_contracts.read_models import OrderPaymentReadModel, PaymentSummary
from cqrs_read_store.precision import to_millisecond


def _settle(doc: OrderPaymentReadModel, payments: list[PaymentSummary]) -> OrderPaymentReadModel:
    paid = sum((p.amount for p in payments), Decimal("0"))
    refunded = sum((p.refunded_amount for p in payments), Decimal("0"))
    return doc.model_copy(
        update={
            "payments": payments,
            "paid": paid,
            "refunded": refunded,
            "balance": doc.amount - (paid - refunded),
        }
    )


def _by_processing(payment: PaymentSummary) -> tuple[bool, datetime | None, str]:
    """Processing time as the read store keeps it (milliseconds), then id: a replay in
    memory and a live document read back from the store order the same payments alike."""
    processed = payment.processed_at
    return processed is None, to_millisecond(processed) if processed else None, payment.payment_id


def _payment_event(doc: OrderPaymentReadModel, event: EventData) -> OrderPaymentReadModel:
    current = {p.payment_id: p for p in doc.payments}
    match event:
        case PaymentProcessed():
            summary = PaymentSummary(
                payment_id=event.payment_id,
                amount=event.amount,
                method=event.method,
                status=event.status,
                processed_at=event.processed_at,
            )
        case PaymentRefunded() if event.payment_id in current:
            summary = current[event.payment_id].model_copy(
                update={"status": event.status, "refunded_amount": event.refunded_total}
            )
        case _:
            return doc
    payments = [p for p in doc.payments if p.payment_id != summary.payment_id] + [summary]
    payments.sort(key=_by_processing)
    return _settle(doc, payments)


def apply_order_payments(
    doc: OrderPaymentReadModel | None, event: EventData, owner: str
) -> OrderPaymentReadModel | None:
    base = doc or OrderPaymentReadModel(id=owner, payments=[])
    match event:
        case OrderCreated():
            updated = base.model_copy(
                update={
                    "user_id": event.user_id,
                    "amount": event.amount,
                    "currency": event.currency,
                    "status": event.status,
                }
            )
            return _settle(updated, updated.payments)
        case OrderUpdated():
            changes = event.model_dump(include={"amount", "currency", "status"}, exclude_none=True)
            updated = base.model_copy(update=changes)
            return _settle(updated, updated.payments)
        case OrderCancelled():
            return base.model_copy(update={"status": "cancelled"})
        case PaymentProcessed() | PaymentRefunded():
            return _payment_event(base, event)
    return doc


def order_payment_targets(event: EventData) -> list[str]:
    match event:
        case OrderCreated() | OrderUpdated() | OrderCancelled():
            return [event.order_id]
        case PaymentProcessed() | PaymentRefunded():
            return [event.order_id]
    return []
