"""database.mongodb.read_preference / read_concern against the real read store (a single
server): the preferences that fall back to the primary still answer, with read-your-writes;
`secondary`, which never reads a primary, finds no server, which proves the setting reaches
the driver rather than stopping at the settings object."""

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import answer, ask, ids, items, new_user, tag

UNCACHED = {"CQRS__CQRS__CACHING_ENABLED": "false"}  # every answer read from the store
SECONDARY_PREFERRED = {
    **UNCACHED,
    "CQRS__DATABASE__MONGODB__READ_PREFERENCE": "secondaryPreferred",
    "CQRS__DATABASE__MONGODB__READ_CONCERN": "majority",
}


async def test_secondary_preferred_reads_answer_on_a_single_server(
    commands: AsyncTestClient, projector_admin: AsyncTestClient, query_client_with: Any
) -> None:
    marker = f"Replica Reader {tag()}"
    uid, token = await new_user(commands, name=marker)
    async with query_client_with(**SECONDARY_PREFERRED) as cut:
        user = (await answer(cut, "GetUser", {"id": uid}, token))["result"]
        assert (user["id"], user["name"]) == (uid, marker)
        assert ids(await items(cut, "ListUsers", {"name": marker})) == [uid]
        health = await cut.get("/api/v1/cqrs/health")
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["read_store"]["status"] == "up"


async def test_secondary_reads_find_no_server_where_there_is_no_secondary(
    commands: AsyncTestClient, queries: AsyncTestClient, query_client_with: Any
) -> None:
    uid, token = await new_user(commands)
    await answer(queries, "GetUser", {"id": uid}, token)  # projected, readable on the primary
    overrides = {
        **UNCACHED,
        "CQRS__DATABASE__MONGODB__READ_PREFERENCE": "secondary",
        "CQRS__QUERY_SERVICE__QUERY_TIMEOUT": "1s",
    }
    async with query_client_with(**overrides) as cut:
        response = await ask(cut, "GetUser", {"id": uid})
        assert response.status_code == 503, response.text
