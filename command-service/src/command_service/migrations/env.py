"""Alembic environment: runs migrations on an async (aiomysql) engine."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cqrs_contracts.settings import load_settings
from cqrs_event_store.tables import metadata


def _url() -> str:
    explicit = context.config.attributes.get("url") or context.get_x_argument(
        as_dictionary=True
    ).get("url")
    return str(explicit) if explicit else load_settings().database.mysql.url()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
