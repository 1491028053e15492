"""The Log port: every field of a recorded entry is kept, under its query_id.
Subclasses give `log` and `read_back` (the entry as the query log answers it: datetimes
in ISO 8601), which waits for whatever the log still buffers."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from query_service.queries.ports import Log

ReadBack = Callable[[str], Awaitable[dict[str, Any] | None]]
AT = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)  # whole seconds: every log keeps that


def an_entry(**fields: Any) -> dict[str, Any]:
    entry = {
        "query_id": str(uuid.uuid4()),
        "type": "GetUser",
        "data": {"id": "u1"},
        "actor": "alice",
        "status": 200,
        "source": "cache",
        "stale": False,
        "duration_ms": 1.25,
        "at": AT,
    }
    return {**entry, **fields}


class QueryLogContract:
    @pytest.fixture
    def log(self) -> Log:
        raise NotImplementedError("a subclass gives its log")

    @pytest.fixture
    def read_back(self) -> ReadBack:
        raise NotImplementedError("a subclass gives how an entry is read back")

    async def test_every_field_of_an_entry_is_kept(self, log: Log, read_back: ReadBack) -> None:
        entry = an_entry()
        log.record(entry)
        assert await read_back(entry["query_id"]) == {**entry, "at": AT.isoformat()}

    async def test_entries_are_kept_apart(self, log: Log, read_back: ReadBack) -> None:
        first, second = an_entry(actor=None, status=404), an_entry(source="store", stale=True)
        log.record(first)
        log.record(second)
        assert await read_back(first["query_id"]) == {**first, "at": AT.isoformat()}
        assert await read_back(second["query_id"]) == {**second, "at": AT.isoformat()}
        assert await read_back(str(uuid.uuid4())) is None
