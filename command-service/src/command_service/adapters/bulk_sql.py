"""Multi-row INSERT statements for the hot write path, built once from the table
definitions in `cqrs_event_store.tables` (the one definition of the stored format) and
sent as plain driver SQL: no statement construction or compilation per row, one round
trip per table."""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncConnection


class BulkInsert:
    """`INSERT [IGNORE] INTO table (columns) VALUES (...), (...)` for any number of rows.

    Rows are dicts keyed by column name; JSON columns are serialised here as SQLAlchemy's
    JSON type does (json.dumps, None as JSON null)."""

    def __init__(self, table: Table, *, ignore: bool = False, suffix: str = "") -> None:
        self.table = table
        self.columns = [c.name for c in table.columns if c.autoincrement is not True]
        self._json = {c.name for c in table.columns if isinstance(c.type, JSON)}
        verb = "INSERT IGNORE INTO" if ignore else "INSERT INTO"
        names = ", ".join(f"`{c}`" for c in self.columns)
        self._head = f"{verb} `{table.name}` ({names}) VALUES "
        self._one = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        self._suffix = suffix
        self._sql: dict[int, str] = {}  # by row count: a handful for the process's lifetime

    def sql(self, rows: int) -> str:
        if (text := self._sql.get(rows)) is None:
            text = self._sql[rows] = self._head + ", ".join([self._one] * rows) + self._suffix
        return text

    def params(self, rows: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        flat: list[Any] = []
        for row in rows:
            for name in self.columns:
                value = row.get(name)
                flat.append(json.dumps(value) if name in self._json else value)
        return tuple(flat)

    async def execute(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> Any:
        """The driver's result (rowcount, lastrowid); nothing is sent for no rows."""
        if not rows:
            return None
        return await conn.exec_driver_sql(self.sql(len(rows)), self.params(rows))
