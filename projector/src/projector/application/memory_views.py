"""Read models in memory (the Views port, no I/O): the reference a consistency check
folds the event store into, and the tests' in-memory views."""

from cqrs_contracts.read_models import ReadModel
from projector.application.ports import ConcurrentChangeError


class MemoryViews:
    suffix = ""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], tuple[ReadModel, int]] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def load(self, model: type[ReadModel], doc_id: str) -> tuple[ReadModel | None, int]:
        doc, revision = self.docs.get((model.NAME, doc_id), (None, 0))
        return doc, revision

    async def save(self, doc: ReadModel, revision: int) -> int:
        _, current = self.docs.get((doc.NAME, doc.id), (None, 0))
        if current != revision:
            raise ConcurrentChangeError(doc.id)
        self.docs[(doc.NAME, doc.id)] = (doc, revision + 1)
        return revision + 1

    async def load_many(
        self, model: type[ReadModel], doc_ids: list[str]
    ) -> dict[str, tuple[ReadModel, int]]:
        return {i: self.docs[(model.NAME, i)] for i in doc_ids if (model.NAME, i) in self.docs}

    async def delete(self, model: type[ReadModel], doc_id: str) -> bool:
        return self.docs.pop((model.NAME, doc_id), None) is not None

    async def save_many(self, writes: list[tuple[ReadModel, int]]) -> set[str]:
        clashed: set[str] = set()
        for doc, revision in writes:
            try:
                await self.save(doc, revision)
            except ConcurrentChangeError:
                clashed.add(doc.NAME)
        return clashed
