"""The query log in memory: every entry recorded, in order, read back as the read
store's log answers it (datetimes in ISO 8601, no "_id")."""

from datetime import datetime
from typing import Any


class InMemoryQueryLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        self.entries.append(dict(entry))

    async def get(self, query_id: str) -> dict[str, Any] | None:
        entry = next((e for e in self.entries if e["query_id"] == query_id), None)
        if entry is None:
            return None
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in entry.items()}
