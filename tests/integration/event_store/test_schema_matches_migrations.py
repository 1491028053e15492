"""The command-service's migrations build exactly the schema `cqrs_event_store.tables`
declares, so the two definitions cannot drift: a column, type, length, precision,
nullability, default, index or constraint added to one and not the other fails here."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from cqrs_event_store.tables import metadata
from tests.integration.event_store.conftest import MakeDatabase
from tests.support.services import Endpoints

ALEMBIC = "alembic_version"

# What the server itself says about a database's tables, in comparable rows.
QUERIES = {
    "tables": """
        SELECT table_name AS t FROM information_schema.tables WHERE table_schema = :db""",
    "columns": """
        SELECT table_name AS t, column_name AS c, column_type AS type, is_nullable AS n,
               column_default AS d, extra AS x, character_set_name AS cs, collation_name AS co
        FROM information_schema.columns WHERE table_schema = :db""",
    "indexes": """
        SELECT table_name AS t, index_name AS i, non_unique AS nu, seq_in_index AS s,
               column_name AS c, sub_part AS p
        FROM information_schema.statistics WHERE table_schema = :db""",
    "checks": """
        SELECT tc.table_name AS t, cc.check_clause AS clause
        FROM information_schema.table_constraints tc
        JOIN information_schema.check_constraints cc
          ON cc.constraint_schema = tc.constraint_schema
         AND cc.constraint_name = tc.constraint_name
        WHERE tc.table_schema = :db AND tc.constraint_type = 'CHECK'""",
}


async def described(conn: AsyncConnection, database: str) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for part, query in QUERIES.items():
        rows = (await conn.execute(text(query), {"db": database})).all()
        found[part] = sorted(tuple(r) for r in rows if r[0] != ALEMBIC)
    return found


async def test_the_migrated_schema_is_the_one_the_package_declares(
    endpoints: Endpoints, migrated: str, make_database: MakeDatabase
) -> None:
    declared = await make_database()
    engine = create_async_engine(f"{endpoints.mysql_url}/{declared}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()

    server = create_async_engine(endpoints.mysql_url)
    async with server.connect() as conn:
        from_migrations = await described(conn, migrated)
        from_package = await described(conn, declared)
    await server.dispose()

    assert {t for (t,) in from_package["tables"]} == set(metadata.tables)
    for part in QUERIES:
        only_migrated = sorted(set(from_migrations[part]) - set(from_package[part]))
        only_declared = sorted(set(from_package[part]) - set(from_migrations[part]))
        assert (only_migrated, only_declared) == ([], []), part


async def test_alembic_autogenerate_finds_nothing_to_migrate(
    endpoints: Endpoints, migrated: str
) -> None:
    """What `alembic revision --autogenerate` would write (empty: the package's tables
    need no migration the repository does not hold)."""

    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_async_engine(f"{endpoints.mysql_url}/{migrated}")
    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []
    await engine.dispose()
