"""What every HandlerStore does, written once (the `eventsourcing` library's recorder
tests): a test class per store subclasses HandlerStoreContract and gives the `store`
fixture (and `kind`, the kind its audit entries carry). Names are random, so a store
shared with other tests (a run's database) passes as well as an empty one."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cqrs_contracts.handlers import HandlerAction
from cqrs_http.handlers.store import HandlerRow, HandlerStore

# whole seconds: every store keeps at least that (the read store keeps milliseconds)
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_name() -> str:
    return f"Contract{uuid.uuid4().hex[:12]}"


def declared(name: str, at: datetime = AT, **declaration: Any) -> HandlerRow:
    body = {"name": name, **declaration}
    return HandlerRow(name, body, enabled=True, built_in=False, updated_at=at)


def flag(name: str, *, enabled: bool, at: datetime = AT) -> HandlerRow:
    return HandlerRow(name, None, enabled, built_in=True, updated_at=at)


async def row_of(store: HandlerStore, name: str) -> HandlerRow | None:
    return next((r for r in await store.rows() if r.name == name), None)


class HandlerStoreContract:
    kind: str  # the kind the store's audit entries carry

    @pytest.fixture
    def store(self) -> HandlerStore:
        raise NotImplementedError("a subclass gives its store")

    async def test_a_put_row_is_read_back_as_it_was_put(self, store: HandlerStore) -> None:
        row = declared(a_name(), description="first", schema={"type": "object"})
        assert await store.put(row, "admin") == HandlerAction.REGISTER
        assert await row_of(store, row.name) == row

    async def test_putting_a_name_again_replaces_its_row(self, store: HandlerStore) -> None:
        name = a_name()
        await store.put(declared(name, description="first"), "admin")
        second = declared(name, AT + timedelta(seconds=1), description="second")
        assert await store.put(second, "admin") == HandlerAction.REPLACE
        assert [r for r in await store.rows() if r.name == name] == [second]

    async def test_a_built_in_flag_is_a_disable_then_an_enable(self, store: HandlerStore) -> None:
        name = a_name()
        assert await store.put(flag(name, enabled=False), "admin") == HandlerAction.DISABLE
        assert await row_of(store, name) == flag(name, enabled=False)
        assert await store.put(flag(name, enabled=True), "admin") == HandlerAction.ENABLE
        assert await row_of(store, name) == flag(name, enabled=True)

    async def test_remove_deletes_a_declared_row_once(self, store: HandlerStore) -> None:
        name = a_name()
        await store.put(declared(name), "admin")
        assert await store.remove(name, "admin") is True
        assert await row_of(store, name) is None
        assert await store.remove(name, "admin") is False

    async def test_remove_of_an_unknown_name_is_false(self, store: HandlerStore) -> None:
        name = a_name()
        assert await store.remove(name, "admin") is False
        assert await store.audit(name, 10) == []

    async def test_remove_never_deletes_a_built_in_flag(self, store: HandlerStore) -> None:
        name = a_name()
        await store.put(flag(name, enabled=False), "admin")
        assert await store.remove(name, "admin") is False
        assert await row_of(store, name) == flag(name, enabled=False)
        assert [e.action for e in await store.audit(name, 10)] == [HandlerAction.DISABLE]

    async def test_the_audit_is_newest_first_with_actor_and_declaration(
        self, store: HandlerStore
    ) -> None:
        name = a_name()
        first, second = declared(name, description="first"), declared(name, description="2")
        await store.put(first, "alice")
        await store.put(second, "bob")
        await store.remove(name, None)
        entries = await store.audit(name, 10)
        assert [(e.action, e.actor, e.declaration) for e in entries] == [
            (HandlerAction.UNREGISTER, None, None),
            (HandlerAction.REPLACE, "bob", second.declaration),
            (HandlerAction.REGISTER, "alice", first.declaration),
        ]
        assert {(e.kind, e.name) for e in entries} == {(self.kind, name)}
        assert entries[0].at >= entries[1].at >= entries[2].at

    async def test_the_audit_keeps_the_newest_within_its_limit(self, store: HandlerStore) -> None:
        name = a_name()
        for n in range(3):
            await store.put(declared(name, description=str(n)), "admin")
        newest = await store.audit(name, 2)
        assert [e.declaration for e in newest] == [
            declared(name, description="2").declaration,
            declared(name, description="1").declaration,
        ]

    async def test_the_audit_of_every_name_is_newest_first(self, store: HandlerStore) -> None:
        one, two = a_name(), a_name()
        await store.put(declared(one), "admin")
        await store.put(flag(two, enabled=False), "admin")
        newest = await store.audit(None, 2)
        assert [(e.name, e.action) for e in newest] == [
            (two, HandlerAction.DISABLE),
            (one, HandlerAction.REGISTER),
        ]
