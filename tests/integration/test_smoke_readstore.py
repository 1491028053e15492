"""Beanie on pymongo's async client against the real read store: insert, find,
update with upsert, and a unique index that refuses a duplicate."""

from collections.abc import AsyncIterator

import pytest
from beanie import Document, init_beanie
from beanie.odm.operators.update.general import Inc, Set
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.errors import DuplicateKeyError


class SmokeAccount(Document):
    email: str
    name: str
    logins: int = 0

    class Settings:
        name = "smoke_accounts"
        indexes = [IndexModel([("email", ASCENDING)], unique=True, name="email_unique")]


@pytest.fixture
async def accounts(
    mongo_client: AsyncMongoClient[dict[str, object]], mongo_database: str
) -> AsyncIterator[type[SmokeAccount]]:
    await init_beanie(database=mongo_client[mongo_database], document_models=[SmokeAccount])
    yield SmokeAccount
    await SmokeAccount.get_pymongo_collection().drop()


async def test_insert_find_update(accounts: type[SmokeAccount]) -> None:
    created = await accounts(email="ada@example.com", name="Ada").insert()
    found = await accounts.find_one(accounts.email == "ada@example.com")
    assert found is not None
    assert found.id == created.id
    await found.update(Inc({accounts.logins: 2}), Set({accounts.name: "Ada L."}))
    again = await accounts.get(created.id)
    assert again is not None
    assert (again.name, again.logins) == ("Ada L.", 2)


async def test_upsert_inserts_then_updates(accounts: type[SmokeAccount]) -> None:
    for _ in range(2):
        await accounts.find_one(accounts.email == "bob@example.com").upsert(
            Inc({accounts.logins: 1}),
            on_insert=accounts(email="bob@example.com", name="Bob", logins=1),
        )
    docs = await accounts.find(accounts.email == "bob@example.com").to_list()
    assert [(d.name, d.logins) for d in docs] == [("Bob", 2)]


async def test_unique_index_refuses_duplicate(accounts: type[SmokeAccount]) -> None:
    await accounts(email="eve@example.com", name="Eve").insert()
    with pytest.raises(DuplicateKeyError):
        await accounts(email="eve@example.com", name="Eve again").insert()
    assert await accounts.find(accounts.email == "eve@example.com").count() == 1
