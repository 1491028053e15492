"""The one writer of the read models against the real read store: compare-and-set on
`_rev` (a stale revision is refused, one by one and in bulk), exact decimals, staging
sets for rebuilds with their indexes, chunked loads, deletion."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.read_models import (
    CurrencyTotals,
    OrderReadModel,
    OrderSummary,
    UserOrderReadModel,
    UserReadModel,
)
from cqrs_read_store.documents import COLLECTIONS, INDEXES, OrderDoc, init_documents
from cqrs_read_store.reader import ReadStore
from cqrs_read_store.writer import LOAD_CHUNK, REVISION, ConcurrentChangeError, ViewStore


def new_id() -> str:
    return f"rs-{uuid.uuid4().hex[:12]}"


async def test_a_stale_revision_is_refused(staging: ViewStore) -> None:
    doc = UserReadModel(id=new_id(), name="First")
    assert await staging.save(doc, 0) == 1
    with pytest.raises(ConcurrentChangeError):
        await staging.save(doc.model_copy(update={"name": "Also first"}), 0)  # it exists now
    assert await staging.save(doc.model_copy(update={"name": "Second"}), 1) == 2
    with pytest.raises(ConcurrentChangeError):
        await staging.save(doc.model_copy(update={"name": "Stale"}), 1)

    stored, revision = await staging.load(UserReadModel, doc.id)
    assert isinstance(stored, UserReadModel)
    assert (stored.name, revision) == ("Second", 2)


async def test_a_bulk_write_names_the_read_models_with_a_stale_document(
    staging: ViewStore,
) -> None:
    user, order = UserReadModel(id=new_id()), OrderReadModel(id=new_id(), amount=Decimal("1"))
    assert await staging.save_many([(user, 0), (order, 0)]) == set()
    clashed = await staging.save_many([(user, 0), (order, 1)])  # the user's revision is 1
    assert clashed == {"UserReadModel"}
    assert (await staging.load(OrderReadModel, order.id))[1] == 2
    assert (await staging.load(UserReadModel, user.id))[1] == 1


async def test_decimals_round_trip_exactly(
    staging: ViewStore, read_db: AsyncDatabase[dict[str, Any]]
) -> None:
    amount = Decimal("123456789012.34")
    summary = OrderSummary(order_id=new_id(), amount=amount, currency="EUR", status="paid")
    doc = UserOrderReadModel(
        id=new_id(),
        orders=[summary],
        totals={"EUR": CurrencyTotals(orders=1, amount=amount, paid=Decimal("0.10"))},
    )
    await staging.save(doc, 0)

    plain = read_db.get_collection(staging.collection_name(UserOrderReadModel), CodecOptions())
    raw = await plain.find_one({"_id": doc.id})  # as stored, no codec
    assert raw is not None
    assert raw["orders"][0]["amount"] == Decimal128("123456789012.34")  # stored as decimals
    assert raw["totals"]["EUR"]["paid"] == Decimal128("0.10")
    assert raw[REVISION] == 1
    loaded, _ = await staging.load(UserOrderReadModel, doc.id)
    assert loaded == doc
    assert loaded.model_dump(mode="json")["totals"]["EUR"]["amount"] == "123456789012.34"


async def test_a_staging_set_is_apart_from_the_live_one(
    staging: ViewStore, read_db: AsyncDatabase[dict[str, Any]]
) -> None:
    doc = OrderReadModel(id=new_id(), amount=Decimal("5.00"))
    await staging.ensure_indexes()
    await staging.save(doc, 0)

    live = ViewStore(read_db)
    assert await live.load(OrderReadModel, doc.id) == (None, 0)
    assert staging.collection_name(OrderReadModel) == COLLECTIONS["OrderReadModel"] + staging.suffix
    assert await staging.all_ids(OrderReadModel) == [doc.id]
    info = await read_db[staging.collection_name(OrderReadModel)].index_information()
    declared = {tuple(index.document["key"]) for index in INDEXES["OrderReadModel"]}
    assert declared <= {tuple(k for k, _ in i["key"]) for i in info.values()}

    await staging.drop_all()
    names = set(await read_db.list_collection_names())
    assert not {name + staging.suffix for name in COLLECTIONS.values()} & names


async def test_many_ids_load_in_chunks(staging: ViewStore) -> None:
    docs = [UserReadModel(id=new_id(), age=n) for n in range(LOAD_CHUNK * 2 + 7)]
    assert await staging.save_many([(d, 0) for d in docs]) == set()
    found = await staging.load_many(UserReadModel, [d.id for d in docs] + [new_id()])
    assert {i: (d, r) for i, (d, r) in found.items()} == {d.id: (d, 1) for d in docs}


async def test_a_deletion_removes_the_document_once(staging: ViewStore) -> None:
    doc = UserReadModel(id=new_id())
    await staging.save(doc, 0)
    assert await staging.delete(UserReadModel, doc.id) is True
    assert await staging.delete(UserReadModel, doc.id) is False
    assert await staging.load(UserReadModel, doc.id) == (None, 0)


async def test_what_the_writer_stores_the_reader_and_the_documents_read_alike(
    read_db: AsyncDatabase[dict[str, Any]],
) -> None:
    """One format: the query path (pymongo into the contract model) and the Beanie document
    read the very document the writer stored."""
    live, doc = ViewStore(read_db), OrderReadModel(id=new_id(), amount=Decimal("19.99"))
    await live.save(doc, 0)
    try:
        read = await ReadStore(read_db).get("OrderReadModel", doc.id)
        assert read == doc
        await init_documents(read_db)
        through_beanie = await OrderDoc.get(doc.id)
        assert through_beanie is not None
        assert through_beanie.model_dump(mode="json") == read.model_dump(mode="json")
    finally:
        await live.delete(OrderReadModel, doc.id)
