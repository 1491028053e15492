"""SQLAlchemy 2 async + aiomysql round trip against the real MariaDB/MySQL."""

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_create_insert_select(mysql_engine: AsyncEngine) -> None:
    metadata = MetaData()
    greetings = Table(
        "smoke_greetings",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("text", String(50), nullable=False),
    )
    async with mysql_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(greetings), [{"text": "hello"}, {"text": "world"}])
    async with mysql_engine.connect() as conn:
        rows = (
            (await conn.execute(select(greetings.c.text).order_by(greetings.c.id))).scalars().all()
        )
    assert rows == ["hello", "world"]
