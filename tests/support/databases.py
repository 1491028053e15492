"""A database of a test's own on one MariaDB/MySQL server: created, dropped afterwards."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.migrations import upgrade_to_head


@contextlib.asynccontextmanager
async def database(server_url: str, name: str, *, migrated: bool = False) -> AsyncIterator[str]:
    """CREATE DATABASE `name` on the server at `server_url` (no database in it), migrated
    to head when asked (every event-store shard has the full schema); yields its URL and
    drops it afterwards."""
    server = create_async_engine(server_url)
    try:
        async with server.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        try:
            url = f"{server_url}/{name}"
            if migrated:
                await asyncio.to_thread(upgrade_to_head, url)
            yield url
        finally:
            async with server.begin() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await server.dispose()
