"""Reads of the read models through Beanie: one document, or a keyset-paginated page."""

from dataclasses import dataclass
from typing import Any

from beanie import Document, SortDirection

from query_service.adapters.documents import DOCUMENTS


@dataclass(frozen=True)
class Page:
    items: list[Document]
    has_more: bool


class ReadStore:
    async def get(self, read_model: str, doc_id: str) -> Document | None:
        return await DOCUMENTS[read_model].get(doc_id)

    async def page(
        self, read_model: str, where: dict[str, Any], sort: tuple[str, int], limit: int
    ) -> Page:
        field, raw_direction = sort
        direction = SortDirection.DESCENDING if raw_direction < 0 else SortDirection.ASCENDING
        docs = (
            await DOCUMENTS[read_model]
            .find(where)
            .sort([(field, direction)] + ([("_id", direction)] if field != "_id" else []))
            .limit(limit + 1)
            .to_list()
        )
        return Page(docs[:limit], len(docs) > limit)

    async def count(self, read_model: str) -> int:
        return await DOCUMENTS[read_model].find({}).count()
