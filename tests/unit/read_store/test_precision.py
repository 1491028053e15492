"""`as_stored`: a document's times cut to the millisecond, as BSON dates keep them, nested
ones too; nothing else changes."""

from datetime import UTC, datetime
from decimal import Decimal

from cqrs_contracts.read_models import OrderSummary, UserOrderReadModel
from cqrs_read_store.precision import as_stored

FINE = datetime(2026, 2, 3, 4, 5, 6, 789_999, tzinfo=UTC)
CUT = datetime(2026, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)


def test_every_datetime_is_cut_to_the_millisecond_and_nothing_else_changes() -> None:
    order = OrderSummary(
        order_id="o1", amount=Decimal("10.50"), currency="EUR", status="pending", created_at=FINE
    )
    doc = UserOrderReadModel(id="u1", versions={"u1": 2}, updated_at=FINE, orders=[order])
    stored = as_stored(doc)
    assert stored.updated_at == CUT
    assert stored.orders[0].created_at == CUT
    assert stored.model_copy(update={"updated_at": FINE, "orders": [order]}) == doc
    assert stored.orders[0].amount == Decimal("10.50")
