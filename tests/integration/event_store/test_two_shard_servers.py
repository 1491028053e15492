"""The run's event store on two shards (tests/support/fixtures.py): the second shard is
another server holding a database of the same name, migrated to the same schema, and the
sharded service environment names it as database.mysql.shards' only item."""

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cqrs_contracts.settings import Settings
from tests.support.databases import database
from tests.support.settings import settings_for

TABLES = """
    SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"""
DATABASES = "SELECT schema_name FROM information_schema.schemata WHERE schema_name = :name"


async def _fetch(url: str, query: str, **params: Any) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(query), params)).scalars())
    finally:
        await engine.dispose()


async def test_the_second_shard_has_the_runs_database_with_the_same_schema(
    mysql_database: str, mysql_shard_url: str, event_store_shard_db: str
) -> None:
    shard_tables = await _fetch(f"{mysql_shard_url}/{event_store_shard_db}", TABLES)
    assert {"events", "outbox", "data_keys", "alembic_version"} <= set(shard_tables)
    assert sorted(shard_tables) == sorted(await _fetch(mysql_database, TABLES))
    version = "SELECT version_num FROM alembic_version"
    assert await _fetch(f"{mysql_shard_url}/{event_store_shard_db}", version) == (
        await _fetch(mysql_database, version)
    )


async def test_the_second_shard_is_another_server(
    mysql_database: str, mysql_shard_url: str, run_id: str
) -> None:
    probe = f"cqrs_test_{run_id}_probe{uuid.uuid4().hex[:6]}"
    async with database(mysql_shard_url, probe):
        assert await _fetch(mysql_shard_url, DATABASES, name=probe) == [probe]
        assert await _fetch(mysql_database, DATABASES, name=probe) == []


async def test_the_sharded_environment_names_the_second_shard(
    sharded_service_env: dict[str, str],
    service_env: dict[str, str],
    make_settings: Callable[..., Settings],
    event_store_shard_db: str,
) -> None:
    assert make_settings().database.mysql.shards == []
    mysql = settings_for(sharded_service_env).database.mysql
    (shard,) = mysql.shards
    url = mysql.url("aiomysql", replica=shard)
    assert await _fetch(url, "SELECT DATABASE()") == [event_store_shard_db]
    assert {k: v for k, v in sharded_service_env.items() if service_env.get(k) != v} == {
        "CQRS__DATABASE__MYSQL__SHARDS": f"{shard.host}:{shard.port}"
    }
