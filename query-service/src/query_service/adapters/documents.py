"""Beanie documents over the projector's collections: the contract models plus storage."""

from typing import Any

from beanie import Document, init_beanie
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts import read_models as rm


class UserDoc(Document, rm.UserReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = rm.COLLECTIONS["UserReadModel"]


class OrderDoc(Document, rm.OrderReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = rm.COLLECTIONS["OrderReadModel"]


class PaymentDoc(Document, rm.PaymentReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = rm.COLLECTIONS["PaymentReadModel"]


class UserOrderDoc(Document, rm.UserOrderReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = rm.COLLECTIONS["UserOrderReadModel"]


class OrderPaymentDoc(Document, rm.OrderPaymentReadModel):
    id: str  # type: ignore[assignment]

    class Settings:
        name = rm.COLLECTIONS["OrderPaymentReadModel"]


DOCUMENTS: dict[str, type[Document]] = {
    "UserReadModel": UserDoc,
    "OrderReadModel": OrderDoc,
    "PaymentReadModel": PaymentDoc,
    "UserOrderReadModel": UserOrderDoc,
    "OrderPaymentReadModel": OrderPaymentDoc,
}


# Beanie binds these classes to one database per process: one query-service app per
# process (Granian runs one per worker), never two apps side by side in one process.
async def init_documents(db: AsyncDatabase[dict[str, Any]]) -> None:
    # Indexes are the projector's to create (it owns the collections and their rebuilds).
    await init_beanie(database=db, document_models=list(DOCUMENTS.values()), skip_indexes=True)
