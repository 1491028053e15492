"""The consistency check: replay the whole event store into memory and compare every
document with the read store. Equal means the live projection converged to exactly
what a clean rebuild gives. Every shard of the event store is replayed in full, one
after another (each in position order)."""

from dataclasses import dataclass, field
from typing import Any, Protocol

from cqrs_contracts.read_models import READ_MODELS, ReadModel
from cqrs_read_store.precision import as_stored
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from projector.application.rebuild import EventLog


class AllDocuments(Protocol):
    async def all_ids(self, model: type[ReadModel]) -> list[str]: ...

    async def load(self, model: type[ReadModel], doc_id: str) -> tuple[ReadModel | None, int]: ...


@dataclass
class Report:
    events: int = 0
    documents: int = 0
    missing: list[str] = field(default_factory=list)  # in the rebuild, not in the store
    extra: list[str] = field(default_factory=list)  # in the store, not in the rebuild
    different: list[dict[str, Any]] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.extra or self.different)


async def check(store: AllDocuments, events: EventLog, batch: int = 1000) -> Report:
    reference = MemoryViews()
    replayer = Projector(views=[reference], history=events, notifier=None)
    report = Report()
    async for chunk in events.replay_shards({}, await events.max_positions(), batch):
        await replayer.handle_batch(chunk)
        report.events += len(chunk)
    expected = {key: doc for key, (doc, _) in reference.docs.items()}
    for name, model in READ_MODELS.items():
        stored_ids = set(await store.all_ids(model))
        wanted_ids = {doc_id for (kind, doc_id) in expected if kind == name}
        report.missing += [f"{name}/{i}" for i in sorted(wanted_ids - stored_ids)]
        report.extra += [f"{name}/{i}" for i in sorted(stored_ids - wanted_ids)]
        for doc_id in sorted(wanted_ids & stored_ids):
            stored, _ = await store.load(model, doc_id)
            want = as_stored(expected[(name, doc_id)]).model_dump()
            have = as_stored(stored).model_dump() if stored else None
            report.documents += 1
            if have != want:
                report.different.append({"doc": f"{name}/{doc_id}", "store": have, "rebuild": want})
    return report
