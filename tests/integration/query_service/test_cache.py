"""The read-through cache: second reads come from Redis, a change invalidates documents
and lists, stats count hits and misses, cached copies expire after `redis.cache_ttl`, and
`cqrs.caching_enabled: false` turns it off."""

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.settings import Settings
from query_service.adapters.cache import ReadCache
from tests.integration.query_service.helpers import answer, ids, new_user, send, tag
from tests.support.polling import eventually

STATS = "/api/v1/cqrs/stats"


async def test_second_get_comes_from_the_cache(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    uid, token = await new_user(commands, name="Cached Once")
    first = await answer(queries, "GetUser", {"id": uid}, token)
    second = await answer(queries, "GetUser", {"id": uid})
    assert (first["from_cache"], second["from_cache"]) == (False, True)
    assert second["result"] == first["result"]
    assert second["version"] == first["version"] == 1


async def test_an_update_is_never_hidden_by_the_cache(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    uid, token = await new_user(commands, name="Before Update")
    await answer(queries, "GetUser", {"id": uid}, token)
    assert (await answer(queries, "GetUser", {"id": uid}))["from_cache"] is True

    for round_ in range(3):
        _, token = await send(commands, "UpdateUser", user_id=uid, name=f"After Update {round_}")
        fresh = await answer(queries, "GetUser", {"id": uid}, token)
        assert fresh["result"]["name"] == f"After Update {round_}"
        assert (fresh["from_cache"], fresh["version"]) == (False, round_ + 2)
        again = await answer(queries, "GetUser", {"id": uid}, token)
        assert again["from_cache"] is True
        assert again["result"]["name"] == f"After Update {round_}"


async def test_list_caches_are_invalidated_by_a_change(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    marker = tag()
    uid, token = await new_user(commands, name=f"Lister {marker}", age=30)
    query = {"name": marker}
    first = await answer(queries, "ListUsers", query, token)
    cached = await answer(queries, "ListUsers", query)
    assert (first["from_cache"], cached["from_cache"]) == (False, True)
    assert cached["result"] == first["result"]

    _, token = await send(commands, "UpdateUser", user_id=uid, age=31)
    after = await answer(queries, "ListUsers", query, token)
    assert after["from_cache"] is False
    assert [r["age"] for r in after["result"]["items"]] == [31]

    # a new matching document shows up too (not only changes of listed ones)
    other, token = await new_user(commands, name=f"Second {marker}")
    grown = await answer(queries, "ListUsers", query, token)
    assert grown["from_cache"] is False
    assert sorted(ids(grown["result"]["items"])) == sorted([uid, other])
    assert (await answer(queries, "ListUsers", query))["from_cache"] is True


async def test_stats_count_hits_and_misses(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    uid, token = await new_user(commands)
    before = (await queries.get(STATS)).json()["cache"]
    await answer(queries, "GetUser", {"id": uid}, token)  # a miss
    await answer(queries, "GetUser", {"id": uid})  # a hit
    await answer(queries, "GetUser", {"id": uid})  # a hit
    stats = (await queries.get(STATS)).json()
    cache = stats["cache"]
    assert (cache["hits"] - before["hits"], cache["misses"] - before["misses"]) == (2, 1)
    assert cache["hit_ratio"] == round(cache["hits"] / (cache["hits"] + cache["misses"]), 4)
    assert stats["read_models"]["UserReadModel"] >= 1
    assert stats["service"] == "query-service"


async def test_with_caching_disabled_nothing_comes_from_the_cache(
    commands: AsyncTestClient,
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]],
) -> None:
    uid, token = await new_user(commands, name=f"Uncached {tag()}")
    async with query_client_with(CQRS__CQRS__CACHING_ENABLED="false") as uncached:
        before = (await uncached.get(STATS)).json()["cache"]
        for _ in range(3):
            assert (await answer(uncached, "GetUser", {"id": uid}, token))["from_cache"] is False
            listed = await answer(uncached, "ListUsers", {"name": "Uncached"}, token)
            assert listed["from_cache"] is False
        assert (await uncached.get(STATS)).json()["cache"] == before


async def test_a_slow_reader_cannot_put_back_an_old_document(
    redis_client: Redis, run_id: str
) -> None:
    """The generation CAS: a read that started before an invalidation is not cached."""
    prefix = f"test:{run_id}:c{uuid.uuid4().hex[:6]}"
    cache = ReadCache(redis_client, prefix, 60, enabled=True)
    key = cache.doc_key("UserReadModel", "u1")
    generation = await cache.generation("UserReadModel")
    await redis_client.incr(ch.generation(prefix, "UserReadModel"))  # the projector's bump
    assert await cache.put(key, {"name": "old"}, "UserReadModel", generation) is False
    assert await cache.get(key) is None
    fresh = await cache.generation("UserReadModel")
    assert await cache.put(key, {"name": "new"}, "UserReadModel", fresh) is True
    assert await cache.get(key) == {"name": "new"}


async def test_a_cached_document_expires_after_the_ttl(
    commands: AsyncTestClient,
    redis_client: Redis,
    projector_settings: Settings,
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]],
) -> None:
    """`redis.cache_ttl`: the cached copy carries the TTL, is gone after it, and the read
    after that is a miss that caches the document again."""
    uid, token = await new_user(commands, name=f"Short Lived {tag()}")
    key = ch.cached_doc(projector_settings.redis.prefix, "UserReadModel", uid)
    async with query_client_with(CQRS__REDIS__CACHE_TTL="3") as short:
        assert (await answer(short, "GetUser", {"id": uid}, token))["from_cache"] is False
        assert 0 < await redis_client.pttl(key) <= 3000
        assert (await answer(short, "GetUser", {"id": uid}))["from_cache"] is True

        async def expired() -> bool:
            return await redis_client.exists(key) == 0

        assert await eventually(expired, timeout=10, what="the cache entry to expire")
        again = await answer(short, "GetUser", {"id": uid})
        assert (again["from_cache"], again["result"]["id"]) == (False, uid)
        assert 0 < await redis_client.pttl(key) <= 3000  # cached anew, with the TTL again


async def test_a_lookup_reads_the_generation_a_put_is_checked_against(
    redis_client: Redis, run_id: str
) -> None:
    """One round trip answers the cached copy and the generation; a miss whose read is
    overtaken by an invalidation cannot cache what it read (document and list page)."""
    prefix = f"test:{run_id}:c{uuid.uuid4().hex[:6]}"
    cache = ReadCache(redis_client, prefix, 60, enabled=True)
    key = cache.doc_key("UserReadModel", "u1")
    cached, _, generation = await cache.document("UserReadModel", "u1")
    assert cached is None
    await redis_client.incr(ch.generation(prefix, "UserReadModel"))  # the projector's bump
    assert (
        await cache.put(key, b'{"id": "u1", "versions": {"u1": 1}}', "UserReadModel", generation)
        is False
    )
    cached, _, generation = await cache.document("UserReadModel", "u1")
    assert cached is None
    assert await cache.put(key, b'{"id": "u1", "versions": {"u1": 2}}', "UserReadModel", generation)
    cached, version, _ = await cache.document("UserReadModel", "u1")
    assert (cached, version) == (b'{"id": "u1", "versions": {"u1": 2}}', 2)

    params = {"q": "ListUsers", "limit": 5}
    page, generation = await cache.page("UserReadModel", params)
    assert page is None
    list_key = cache.list_key("UserReadModel", generation, params)
    await redis_client.incr(ch.generation(prefix, "UserReadModel"))
    assert await cache.put(list_key, b'{"items": []}', "UserReadModel", generation) is False
    page, generation = await cache.page("UserReadModel", params)  # the new generation's key
    assert page is None
    assert await cache.put(
        cache.list_key("UserReadModel", generation, params),
        b'{"items": []}',
        "UserReadModel",
        generation,
    )
    assert (await cache.page("UserReadModel", params))[0] == b'{"items": []}'
    assert (cache.hits, cache.misses) == (2, 4)
    # counted in this process: nothing about hits or misses is written to Redis
    assert (
        await redis_client.exists(ch.cache_stat(prefix, "hits"), ch.cache_stat(prefix, "misses"))
        == 0
    )
