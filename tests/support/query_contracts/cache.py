"""The Cache port: a lookup answers the read model's generation with the cached copy, a
put stores only while that generation has not moved, and the projector's announcement of
a change (`invalidate`) drops the document and moves the generation, so a reader that
looked up before the change can never cache what it read. Subclasses give `cache` and
`invalidate` (the announcement, as the projector makes it)."""

import uuid
from collections.abc import Awaitable, Callable

import pytest

from query_service.queries.ports import Cache

Invalidate = Callable[[str, str], Awaitable[None]]
USERS, ORDERS = "UserReadModel", "OrderReadModel"


def an_id() -> str:
    return f"c{uuid.uuid4().hex[:12]}"


def doc_json(doc_id: str, version: int) -> bytes:
    return b'{"id":"%s","versions":{"%s":%d}}' % (doc_id.encode(), doc_id.encode(), version)


class CacheContract:
    @pytest.fixture
    def cache(self) -> Cache:
        raise NotImplementedError("a subclass gives its cache")

    @pytest.fixture
    def invalidate(self) -> Invalidate:
        raise NotImplementedError("a subclass gives the projector's announcement")

    async def test_a_put_document_is_a_hit_with_its_own_version(self, cache: Cache) -> None:
        doc_id = an_id()
        cached, version, generation = await cache.document(USERS, doc_id)
        assert (cached, version) == (None, 0)
        assert await cache.put(cache.doc_key(USERS, doc_id), doc_json(doc_id, 3), USERS, generation)
        assert await cache.document(USERS, doc_id) == (doc_json(doc_id, 3), 3, generation)

    async def test_a_change_drops_the_document_and_moves_the_generation(
        self, cache: Cache, invalidate: Invalidate
    ) -> None:
        doc_id = an_id()
        _, _, generation = await cache.document(USERS, doc_id)
        await cache.put(cache.doc_key(USERS, doc_id), doc_json(doc_id, 1), USERS, generation)
        await invalidate(USERS, doc_id)
        cached, _, moved = await cache.document(USERS, doc_id)
        assert (cached, moved != generation) == (None, True)

    async def test_a_read_overtaken_by_a_change_is_not_cached(
        self, cache: Cache, invalidate: Invalidate
    ) -> None:
        """The slow reader: it looked up, the projector changed the document, and the
        old document it read from the store is refused; a reader after the change caches."""
        doc_id = an_id()
        key = cache.doc_key(USERS, doc_id)
        _, _, before = await cache.document(USERS, doc_id)
        await invalidate(USERS, doc_id)
        assert await cache.put(key, doc_json(doc_id, 1), USERS, before) is False
        cached, _, after = await cache.document(USERS, doc_id)
        assert cached is None
        assert await cache.put(key, doc_json(doc_id, 2), USERS, after) is True
        assert (await cache.document(USERS, doc_id))[:2] == (doc_json(doc_id, 2), 2)

    async def test_any_change_of_the_read_model_refuses_a_put_of_another_document(
        self, cache: Cache, invalidate: Invalidate
    ) -> None:
        doc_id = an_id()
        _, _, before = await cache.document(USERS, doc_id)
        await invalidate(USERS, an_id())
        assert (
            await cache.put(cache.doc_key(USERS, doc_id), doc_json(doc_id, 1), USERS, before)
            is False
        )

    async def test_a_change_of_another_read_model_does_not_move_this_one(
        self, cache: Cache, invalidate: Invalidate
    ) -> None:
        doc_id = an_id()
        _, _, before = await cache.document(ORDERS, doc_id)
        await invalidate(USERS, doc_id)
        assert (await cache.document(ORDERS, doc_id))[2] == before
        assert await cache.put(cache.doc_key(ORDERS, doc_id), doc_json(doc_id, 1), ORDERS, before)

    async def test_a_list_page_is_cached_until_the_read_model_changes(
        self, cache: Cache, invalidate: Invalidate
    ) -> None:
        params = {"q": "ListUsers", "name": an_id(), "limit": 5}
        page, generation = await cache.page(USERS, params)
        assert page is None
        key = cache.list_key(USERS, generation, params)
        assert await cache.put(key, b'{"items":[]}', USERS, generation)
        assert await cache.page(USERS, dict(reversed(params.items()))) == (
            b'{"items":[]}',
            generation,
        )
        assert (await cache.page(USERS, {**params, "limit": 6}))[0] is None

        await invalidate(USERS, an_id())
        page, moved = await cache.page(USERS, params)
        assert (page, moved != generation) == (None, True)
        assert await cache.put(key, b'{"items":[1]}', USERS, generation) is False
        assert await cache.put(cache.list_key(USERS, moved, params), b'{"items":[2]}', USERS, moved)
        assert (await cache.page(USERS, params))[0] == b'{"items":[2]}'

    async def test_keys_differ_per_read_model_document_generation_and_parameters(
        self, cache: Cache
    ) -> None:
        doc_id, params = an_id(), {"q": "ListUsers", "limit": 5}
        docs = {
            cache.doc_key(USERS, doc_id),
            cache.doc_key(ORDERS, doc_id),
            cache.doc_key(USERS, an_id()),
        }
        lists = {
            cache.list_key(USERS, "1", params),
            cache.list_key(USERS, "2", params),
            cache.list_key(ORDERS, "1", params),
            cache.list_key(USERS, "1", {**params, "limit": 6}),
        }
        assert (len(docs), len(lists), docs & lists) == (3, 4, set())
