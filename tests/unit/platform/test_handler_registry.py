"""The handler registry (one for every kind) over the in-memory handler store: what it
lists, what it hands the service's compile hook, and its refresh loop."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from cqrs_contracts.handlers import HandlerAction, QueryDeclaration
from cqrs_http.handlers import registry as registry_module
from cqrs_http.handlers.memory import InMemoryHandlerStore
from cqrs_http.handlers.registry import HandlerRegistry, UnknownHandlerError
from cqrs_http.handlers.store import HandlerRow

BUILT_IN = ("GetUser", "ListUsers")


@dataclass
class Service:
    """What a service's compile hook is given, each time (the last one is in use)."""

    used: list[tuple[dict[str, QueryDeclaration], frozenset[str]]] = field(default_factory=list)

    def use(self, declared: dict[str, QueryDeclaration], disabled: frozenset[str]) -> None:
        self.used.append((declared, disabled))


def decl(name: str, *fields: str) -> QueryDeclaration:
    return QueryDeclaration(name=name, read_model="users", projection=list(fields or ["email"]))


def registry_on(store: InMemoryHandlerStore, service: Service) -> HandlerRegistry[QueryDeclaration]:
    return HandlerRegistry("query", store, QueryDeclaration, BUILT_IN, service.use)


@pytest.fixture
def store() -> InMemoryHandlerStore:
    return InMemoryHandlerStore("query")


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def registry(store: InMemoryHandlerStore, service: Service) -> HandlerRegistry[QueryDeclaration]:
    return registry_on(store, service)


async def test_before_any_change_it_lists_the_built_ins_enabled(
    registry: HandlerRegistry[QueryDeclaration],
) -> None:
    await registry.refresh()
    assert [(h.name, h.built_in, h.enabled) for h in registry.listing()] == [
        ("GetUser", True, True),
        ("ListUsers", True, True),
    ]


async def test_a_registered_declaration_is_compiled_and_listed(
    registry: HandlerRegistry[QueryDeclaration], service: Service
) -> None:
    assert await registry.register(decl("UsersByEmail"), "admin") == HandlerAction.REGISTER
    assert service.used[-1] == ({"UsersByEmail": decl("UsersByEmail")}, frozenset())
    info = registry.info("UsersByEmail")
    assert (info.built_in, info.enabled) == (False, True)
    assert info.declaration == decl("UsersByEmail").model_dump(mode="json", exclude_none=True)
    assert [h.name for h in registry.listing()] == [*BUILT_IN, "UsersByEmail"]


async def test_registering_a_name_again_replaces_its_declaration(
    registry: HandlerRegistry[QueryDeclaration], service: Service
) -> None:
    await registry.register(decl("UsersByEmail"), "admin")
    replaced = decl("UsersByEmail", "email", "name")
    assert await registry.register(replaced, "admin") == HandlerAction.REPLACE
    assert service.used[-1][0] == {"UsersByEmail": replaced}


async def test_declared_types_are_listed_by_name_after_the_built_ins(
    registry: HandlerRegistry[QueryDeclaration],
) -> None:
    for name in ("Zeta", "Alpha"):
        await registry.register(decl(name), "admin")
    assert [h.name for h in registry.listing()] == [*BUILT_IN, "Alpha", "Zeta"]


async def test_removing_a_declared_type_unregisters_it(
    registry: HandlerRegistry[QueryDeclaration], service: Service
) -> None:
    await registry.register(decl("UsersByEmail"), "admin")
    assert await registry.remove("UsersByEmail", "admin") == HandlerAction.UNREGISTER
    assert service.used[-1] == ({}, frozenset())
    with pytest.raises(UnknownHandlerError):
        registry.info("UsersByEmail")


async def test_removing_an_unknown_name_is_an_unknown_handler(
    registry: HandlerRegistry[QueryDeclaration], store: InMemoryHandlerStore
) -> None:
    with pytest.raises(UnknownHandlerError):
        await registry.remove("Nothing", "admin")
    assert store.entries == []


async def test_removing_a_built_in_disables_it_and_enable_brings_it_back(
    registry: HandlerRegistry[QueryDeclaration], service: Service
) -> None:
    assert await registry.remove("ListUsers", "admin") == HandlerAction.DISABLE
    assert service.used[-1] == ({}, frozenset({"ListUsers"}))
    assert registry.info("ListUsers").enabled is False
    enabled = await registry.enable("ListUsers", "admin")
    assert (enabled.built_in, enabled.enabled) == (True, True)
    assert service.used[-1] == ({}, frozenset())


async def test_enable_of_a_declared_type_changes_nothing(
    registry: HandlerRegistry[QueryDeclaration], store: InMemoryHandlerStore
) -> None:
    await registry.register(decl("UsersByEmail"), "admin")
    assert (await registry.enable("UsersByEmail", "admin")).enabled is True
    assert [e.action for e in store.entries] == [HandlerAction.REGISTER]


async def test_enable_of_an_unknown_name_is_an_unknown_handler(
    registry: HandlerRegistry[QueryDeclaration],
) -> None:
    with pytest.raises(UnknownHandlerError):
        await registry.enable("Nothing", "admin")


async def test_the_audit_is_the_store_s(registry: HandlerRegistry[QueryDeclaration]) -> None:
    await registry.register(decl("UsersByEmail"), "alice")
    await registry.remove("GetUser", "bob")
    entries = await registry.audit(None, 10)
    assert [(e.name, e.action, e.actor) for e in entries] == [
        ("GetUser", HandlerAction.DISABLE, "bob"),
        ("UsersByEmail", HandlerAction.REGISTER, "alice"),
    ]
    assert [e.name for e in await registry.audit("UsersByEmail", 10)] == ["UsersByEmail"]


async def test_another_replica_follows_on_its_next_refresh(
    store: InMemoryHandlerStore, registry: HandlerRegistry[QueryDeclaration]
) -> None:
    other = Service()
    replica = registry_on(store, other)
    await replica.refresh()
    await registry.register(decl("UsersByEmail"), "admin")
    await registry.remove("GetUser", "admin")
    await replica.refresh()
    assert other.used[-1] == ({"UsersByEmail": decl("UsersByEmail")}, frozenset({"GetUser"}))
    assert replica.listing() == registry.listing()


async def test_a_refresh_without_a_change_does_not_compile_again(
    registry: HandlerRegistry[QueryDeclaration], service: Service
) -> None:
    await registry.register(decl("UsersByEmail"), "admin")
    compiled = len(service.used)
    await registry.refresh()
    assert len(service.used) == compiled


async def test_an_unreadable_declaration_is_skipped_and_logged(
    registry: HandlerRegistry[QueryDeclaration],
    store: InMemoryHandlerStore,
    service: Service,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="cqrs_http.handlers")
    now = datetime.now(UTC)
    await store.put(HandlerRow("Broken", {"name": "Broken"}, True, False, now), "admin")
    await registry.register(decl("UsersByEmail"), "admin")
    assert service.used[-1][0] == {"UsersByEmail": decl("UsersByEmail")}
    assert "stored declaration of Broken is unreadable" in caplog.text


async def test_a_declaration_stored_under_a_built_in_name_is_not_compiled(
    registry: HandlerRegistry[QueryDeclaration], store: InMemoryHandlerStore, service: Service
) -> None:
    body = decl("GetUser").model_dump(mode="json")
    await store.put(HandlerRow("GetUser", body, True, False, datetime.now(UTC)), "admin")
    await registry.refresh()
    assert service.used[-1] == ({}, frozenset())
    assert [h.name for h in registry.listing()] == list(BUILT_IN)


@dataclass
class FlakyStore(InMemoryHandlerStore):
    """Fails its first read; tells each later one."""

    reads: int = 0
    read_again: asyncio.Event = field(default_factory=asyncio.Event)

    async def rows(self) -> list[HandlerRow]:
        self.reads += 1
        if self.reads == 1:
            raise ConnectionError("store away")
        self.read_again.set()
        return await super().rows()


async def test_the_refresh_loop_logs_a_failed_read_and_reads_again(
    service: Service, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "REFRESH_SECONDS", 0)
    store = FlakyStore("query")
    await store.put(HandlerRow("GetUser", None, False, True, datetime.now(UTC)), "admin")
    loop = asyncio.create_task(registry_on(store, service).run())
    with caplog.at_level(logging.WARNING, logger="cqrs_http.handlers"):
        await asyncio.wait_for(store.read_again.wait(), 10)  # a deadline, not a timing
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert "refreshing the query handlers failed" in caplog.text
    assert service.used[-1] == ({}, frozenset({"GetUser"}))


@dataclass
class SlowStore(InMemoryHandlerStore):
    """A read that waits until `answer` is set."""

    reading: asyncio.Event = field(default_factory=asyncio.Event)
    answer: asyncio.Event = field(default_factory=asyncio.Event)
    answered: bool = False

    async def rows(self) -> list[HandlerRow]:
        self.reading.set()
        await self.answer.wait()
        self.answered = True
        return await super().rows()


async def test_cancelling_the_loop_lets_a_read_in_flight_end(service: Service) -> None:
    store = SlowStore("query")
    loop = asyncio.create_task(registry_on(store, service).run())
    await store.reading.wait()
    loop.cancel()
    await asyncio.sleep(0)
    assert not loop.done()  # still waiting for its read
    store.answer.set()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert store.answered
