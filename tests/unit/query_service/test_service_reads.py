"""QueryService reads: one document from the cache or the read store (404 when neither
has it), list pages with cursors in the read store's order, declared queries, and the
generation race (a reader overtaken by a change never caches what it read)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cqrs_contracts.handlers import parse_query_declaration
from cqrs_contracts.read_models import ReadModel, UserOrderReadModel, UserReadModel
from query_service.adapters.memory.read_models import FoundPage, InMemoryReadModels
from tests.unit.query_service.conftest import World

T0 = datetime(2026, 1, 1, tzinfo=UTC)
USERS = "UserReadModel"
# id -> age; ListUsers by age ascending: nulls first, ties by id
AGES = {"u0": None, "u1": 25, "u2": 25, "u3": 31, "u4": 40, "u5": None, "u6": 18}
BY_AGE = ["u0", "u5", "u6", "u1", "u2", "u3", "u4"]
ADULTS = parse_query_declaration(
    {
        "name": "AdultsByAge",
        "read_model": USERS,
        "filters": {"age": {"operators": ["gte"]}},
        "sortable": ["age"],
        "projection": ["name"],
        "default_limit": 2,
    }
)


def user(uid: str, version: int = 1, **fields: Any) -> UserReadModel:
    return UserReadModel(id=uid, versions={uid: version}, **fields)


def seed_ages(read_models: InMemoryReadModels) -> None:
    for n, (uid, age) in enumerate(AGES.items()):
        read_models.put(user(uid, name=f"User {uid}", age=age, created_at=T0 + timedelta(n)))


async def pages(world: World, type_: str, data: dict[str, Any]) -> list[list[str]]:
    """Every page, following next_cursor, as lists of ids."""
    found, cursor = [], None
    for _ in range(10):
        reply = await world.ask(type_, {**data, **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, reply.body
        found.append([item["id"] for item in reply.body["result"]["items"]])
        cursor = reply.body["result"]["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the cursors never ended")


async def test_a_document_comes_from_the_store_then_from_the_cache(world: World) -> None:
    doc = user("u1", 3, name="Ann", created_at=T0)
    world.read_models.put(doc)
    first = await world.ask("GetUser", {"id": "u1"})
    second = await world.ask("GetUser", {"id": "u1"})
    assert first.status == second.status == 200
    assert (first.body["from_cache"], second.body["from_cache"]) == (False, True)
    assert first.body["result"] == second.body["result"] == doc.model_dump(mode="json")
    assert first.body["version"] == second.body["version"] == 3
    assert (first.body["type"], first.body["stale"]) == ("GetUser", False)
    assert first.body["query_id"] != second.body["query_id"]


async def test_a_document_nowhere_is_a_404_and_nothing_is_cached(world: World) -> None:
    reply = await world.ask("GetUser", {"id": "nobody"})
    assert reply.status == 404
    assert reply.body["error"]["code"] == "not_found"
    assert "nobody" in reply.body["error"]["message"]
    assert world.cache.values == {}


async def test_a_query_by_another_id_field_reads_its_read_model(world: World) -> None:
    world.read_models.put(UserOrderReadModel(id="u9", versions={"u9": 1}))
    reply = await world.ask("GetUserOrders", {"user_id": "u9"})
    assert (reply.status, reply.body["result"]["id"]) == (200, "u9")


class ChangedWhileRead(InMemoryReadModels):
    """A read store where the projector changes a document while a reader is inside."""

    def __init__(self) -> None:
        super().__init__()
        self.during_read: Callable[[], None] | None = None

    def _overtaken(self) -> None:
        change, self.during_read = self.during_read, None
        if change is not None:
            change()

    async def get(self, read_model: str, doc_id: str) -> ReadModel | None:
        found = await super().get(read_model, doc_id)
        self._overtaken()
        return found

    async def page(
        self, read_model: str, where: dict[str, Any], sort: tuple[str, int], limit: int
    ) -> FoundPage:
        found = await super().page(read_model, where, sort, limit)
        self._overtaken()
        return found


async def test_a_slow_reader_cannot_put_back_a_document_a_change_replaced(
    world_with: Callable[..., World],
) -> None:
    store = ChangedWhileRead()
    world = world_with(store)
    store.put(user("u1", 1, name="Old"))

    def change() -> None:  # what the projector does: write, then announce
        store.put(user("u1", 2, name="New"))
        world.cache.invalidate(USERS, "u1")

    store.during_read = change
    slow = await world.ask("GetUser", {"id": "u1"})
    assert (slow.body["result"]["name"], slow.body["version"]) == ("Old", 1)
    after = await world.ask("GetUser", {"id": "u1"})
    assert (after.body["from_cache"], after.body["result"]["name"], after.body["version"]) == (
        False,
        "New",
        2,
    )
    again = await world.ask("GetUser", {"id": "u1"})
    assert (again.body["from_cache"], again.body["result"]["name"]) == (True, "New")


async def test_a_slow_list_reader_cannot_cache_a_page_a_change_made_old(
    world_with: Callable[..., World],
) -> None:
    store = ChangedWhileRead()
    world = world_with(store)
    store.put(user("u1", 1, name="Old"))

    def change() -> None:
        store.put(user("u2", 1, name="Newcomer"))
        world.cache.invalidate(USERS, "u2")

    store.during_read = change
    query = {"sort": "name", "order": "asc"}
    slow = await world.ask("ListUsers", query)
    assert [i["id"] for i in slow.body["result"]["items"]] == ["u1"]
    after = await world.ask("ListUsers", query)
    assert after.body["from_cache"] is False
    assert [i["id"] for i in after.body["result"]["items"]] == ["u2", "u1"]
    assert (await world.ask("ListUsers", query)).body["from_cache"] is True


async def test_list_pages_follow_the_read_store_order_through_cursors(world: World) -> None:
    seed_ages(world.read_models)
    by_age = await pages(world, "ListUsers", {"sort": "age", "order": "asc", "limit": 3})
    assert by_age == [BY_AGE[:3], BY_AGE[3:6], BY_AGE[6:]]
    newest = await pages(world, "ListUsers", {"limit": 4})  # created_at, descending
    assert newest == [["u6", "u5", "u4", "u3"], ["u2", "u1", "u0"]]


async def test_a_list_answers_whole_documents_matching_its_filters(world: World) -> None:
    seed_ages(world.read_models)
    reply = await world.ask("ListUsers", {"min_age": 25, "max_age": 31, "sort": "age"})
    items = reply.body["result"]["items"]
    assert [i["id"] for i in items] == ["u3", "u2", "u1"]
    assert items[0] == user("u3", name="User u3", age=31, created_at=T0 + timedelta(3)).model_dump(
        mode="json"
    )
    assert reply.body["result"]["next_cursor"] is None
    assert "version" not in reply.body


async def test_a_list_page_is_cached_until_its_read_model_changes(world: World) -> None:
    seed_ages(world.read_models)
    first = await world.ask("ListUsers", {"limit": 2})
    cached = await world.ask("ListUsers", {"limit": 2})
    assert (first.body["from_cache"], cached.body["from_cache"]) == (False, True)
    assert cached.body["result"] == first.body["result"]
    world.cache.invalidate(USERS, "u0")
    assert (await world.ask("ListUsers", {"limit": 2})).body["from_cache"] is False


async def test_a_bad_cursor_or_sort_is_a_422_naming_it(world: World) -> None:
    cursor = await world.ask("ListUsers", {"cursor": "not-a-cursor"})
    sort = await world.ask("ListUsers", {"sort": "password"})
    assert (cursor.status, sort.status) == (422, 422)
    assert [f["field"] for f in cursor.body["error"]["details"]["fields"]] == ["cursor"]
    assert [f["field"] for f in sort.body["error"]["details"]["fields"]] == ["sort"]


async def test_a_declared_query_pages_its_projection(world: World) -> None:
    seed_ages(world.read_models)
    world.service.use({ADULTS.name: ADULTS}, frozenset())
    found = await pages(world, ADULTS.name, {"age": {"gte": 25}})  # age descending, by 2
    assert found == [["u4", "u3"], ["u2", "u1"]]
    reply = await world.ask(ADULTS.name, {"age": {"gte": 40}})
    assert reply.body["result"] == {"items": [{"id": "u4", "name": "User u4"}], "next_cursor": None}
    assert (await world.ask(ADULTS.name, {"age": {"gte": 40}})).body["from_cache"] is True


async def test_declared_parameters_outside_the_declaration_are_a_422_per_field(
    world: World,
) -> None:
    world.service.use({ADULTS.name: ADULTS}, frozenset())
    reply = await world.ask(ADULTS.name, {"name": "x", "age": {"lt": 3}, "limit": 0})
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_failed"
    fields = {f["field"]: f["rule"] for f in reply.body["error"]["details"]["fields"]}
    assert fields == {"name": "extra_forbidden", "age.lt": "operator", "limit": "type"}
