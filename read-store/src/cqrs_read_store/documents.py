"""The stored form of each read model, the one definition: its Beanie document is the
contract model (cqrs_contracts.read_models, the schema clients see) plus where it lives
and the indexes its queries need. COLLECTIONS and INDEXES are read off these documents
for the writer (which also makes a rebuild's staging copies) and the reader; both go
through pymongo with the CODECS of codec.py, never through Beanie objects per event or
per query. `init_documents` binds the documents for Beanie's own ODM where one wants it."""

from typing import Any

from beanie import Document, init_beanie
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts import read_models as rm
from cqrs_read_store.codec import CODECS


def _indexes(*keys: tuple[str, ...]) -> list[IndexModel]:
    return [IndexModel([(field, ASCENDING) for field in fields]) for fields in keys]


class UserDoc(Document, rm.UserReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = "users"
        indexes = _indexes(("email",), ("status", "created_at"), ("name",))


class OrderDoc(Document, rm.OrderReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = "orders"
        indexes = _indexes(
            ("user_id", "created_at"), ("status", "created_at"), ("currency", "amount"),
            ("created_at",),
        )  # fmt: skip


class PaymentDoc(Document, rm.PaymentReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = "payments"
        indexes = _indexes(
            ("order_id", "processed_at"), ("user_id", "processed_at"),
            ("method", "processed_at"), ("status",),
        )  # fmt: skip


class UserOrderDoc(Document, rm.UserOrderReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = "user_orders"
        indexes = _indexes(("email",))


class OrderPaymentDoc(Document, rm.OrderPaymentReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = "order_payments"
        indexes = _indexes(("user_id",), ("status",))


DOCUMENTS: dict[str, type[Document]] = {
    "UserReadModel": UserDoc,
    "OrderReadModel": OrderDoc,
    "PaymentReadModel": PaymentDoc,
    "UserOrderReadModel": UserOrderDoc,
    "OrderPaymentReadModel": OrderPaymentDoc,
}


# read model name -> its collection, and the indexes its queries need
COLLECTIONS: dict[str, str] = {n: d.Settings.name for n, d in DOCUMENTS.items()}
INDEXES: dict[str, list[IndexModel]] = {n: d.Settings.indexes for n, d in DOCUMENTS.items()}


# Beanie binds these classes to one database per process.
async def init_documents(db: AsyncDatabase[dict[str, Any]]) -> None:
    # Indexes are the writer's to create (it owns the collections and their rebuilds).
    await init_beanie(
        database=db.with_options(codec_options=CODECS),
        document_models=list(DOCUMENTS.values()),
        skip_indexes=True,
    )
