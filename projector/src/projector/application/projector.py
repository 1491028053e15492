"""Apply one event to every read model it changes, exactly once in effect.

For each (read model, document) the event targets:
- an event at or below the version the document has applied for that stream is skipped
  (redelivery, replay);
- an event more than one version ahead is never applied over the gap: the missing
  events are read from the event store and applied first, in order;
- the document is stored with compare-and-set; a concurrent writer makes us re-read
  and re-apply, so replicas on different partitions never lose each other's work.
Only after every document is stored are the cache and the query replicas told.

`handle_batch` does the same for many events at once (a busy topic, a rebuild): each
document is read once, brought forward by every event of the batch that targets it, in
order, and written once, in one bulk write per read model; a read model where a bulk
write met a concurrent change is redone document by document, which is safe because
applying an event is idempotent."""

from collections.abc import Sequence
from dataclasses import dataclass

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import EventData
from cqrs_contracts.read_models import ChangeNotification, ReadModel
from cqrs_contracts.upcasting import decode_event, upcast_envelope
from projector.application.ports import ConcurrentChangeError, History, Notifier, Views
from projector.projections.registry import PROJECTIONS, Projection, project


class ConflictRetriesExhaustedError(RuntimeError):
    """A document kept changing under us; the event will be retried."""


class MissingHistoryError(RuntimeError):
    """The event store does not (yet) hold the events of a gap; retried later."""


Target = tuple[Projection, str]  # a read model's projection and one document id
Stored = tuple[ReadModel, int]  # a document and its revision


@dataclass
class Outcome:
    changed: list[ChangeNotification]
    skipped: int = 0


@dataclass
class Projector:
    views: list[Views]  # the live set, plus a rebuild's staging set while one runs
    history: History
    notifier: Notifier | None
    max_conflict_retries: int = 50

    async def handle(self, envelope: EventEnvelope) -> Outcome:
        envelope = upcast_envelope(envelope)
        event = decode_event(envelope)
        outcome = Outcome(changed=[])
        targeted = [(p, d) for p in PROJECTIONS for d in p.targets(event)] if event else []
        for views in self.views:  # event None: a type no read model projects
            for projection, doc_id in targeted:
                note = await self._project_one(views, projection, doc_id, envelope)
                if note is None:
                    outcome.skipped += 1
                elif views is self.views[0]:
                    outcome.changed.append(note)
        if self.notifier is not None:
            await self.notifier.published(outcome.changed, envelope)
        return outcome

    async def handle_batch(self, envelopes: Sequence[EventEnvelope]) -> Outcome:
        steps: list[tuple[EventEnvelope, EventData]] = []
        every: list[EventEnvelope] = []  # with the types no read model projects
        for raw in envelopes:
            envelope = upcast_envelope(raw)
            every.append(envelope)
            event = decode_event(envelope)
            if event is not None:
                steps.append((envelope, event))
        outcome = Outcome(changed=[])
        for views in self.views:
            changed = await self._batch_into(views, steps)
            if views is self.views[0]:
                outcome.changed = changed
        if self.notifier is not None and every:
            # every event is recorded as applied (a consistency token for a declared
            # command's stream is then reached) and goes on the event feed
            await self.notifier.published_many(outcome.changed, every)
        return outcome

    async def _batch_into(
        self, views: Views, steps: list[tuple[EventEnvelope, EventData]]
    ) -> list[ChangeNotification]:
        work: dict[Target, list[EventEnvelope]] = {}
        for envelope, event in steps:
            for projection in PROJECTIONS:
                for doc_id in projection.targets(event):
                    work.setdefault((projection, doc_id), []).append(envelope)
        loaded = await self._load(views, list(work))
        writes: list[tuple[ReadModel, int]] = []
        notes: dict[Target, ChangeNotification] = {}
        for target, targeted in work.items():
            start, revision = loaded.get(target, (None, 0))
            doc, last = await self._advance(target, start, targeted)
            if doc is not None and doc is not start:
                writes.append((doc, revision))
            if doc is not None and last is not None:
                notes[target] = _note(doc, last)
        clashed = await views.save_many(writes)
        for target, targeted in work.items():
            if target[0].model.NAME in clashed:
                notes.pop(target, None)
                for envelope in targeted:
                    note = await self._project_one(views, *target, envelope)
                    if note is not None:
                        notes[target] = note
        return list(notes.values())

    async def _load(
        self, views: Views, targets: list[Target]
    ) -> dict[Target, tuple[ReadModel, int]]:
        loaded: dict[Target, tuple[ReadModel, int]] = {}
        for projection in PROJECTIONS:
            ids = [doc_id for (p, doc_id) in targets if p is projection]
            if ids:
                found = await views.load_many(projection.model, ids)
                loaded.update({(projection, i): found[i] for i in found})
        return loaded

    async def _advance(
        self, target: Target, doc: ReadModel | None, targeted: list[EventEnvelope]
    ) -> tuple[ReadModel | None, EventEnvelope | None]:
        """`doc` after every event of `targeted` it has not applied (gaps filled first),
        and the last event that concerns it (None: nothing to tell readers)."""
        projection, doc_id = target
        last = None
        for envelope in targeted:
            applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
            if envelope.version <= applied:
                if envelope.version == applied and doc is not None:
                    last = envelope  # redelivered latest: tell readers again
                continue
            for step in await self._with_gap(envelope, applied):
                step_event = decode_event(step)
                if step_event is not None:
                    doc = project(projection, doc, doc_id, step, step_event)
            last = envelope
        return doc, last

    async def _project_one(
        self, views: Views, projection: Projection, doc_id: str, envelope: EventEnvelope
    ) -> ChangeNotification | None:
        for _ in range(self.max_conflict_retries):
            doc, revision = await views.load(projection.model, doc_id)
            applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
            if envelope.version == applied and doc is not None:
                return _note(doc, envelope)  # redelivered latest: tell readers again
            if envelope.version < applied:
                return None
            pending = await self._with_gap(envelope, applied)
            for step in pending:
                step_event = decode_event(step)
                if step_event is not None:
                    doc = project(projection, doc, doc_id, step, step_event)
            if doc is None:
                return None
            try:
                await views.save(doc, revision)
            except ConcurrentChangeError:
                continue
            return _note(doc, envelope)
        raise ConflictRetriesExhaustedError(f"{projection.model.NAME} {doc_id}")

    async def _with_gap(self, envelope: EventEnvelope, applied: int) -> list[EventEnvelope]:
        if envelope.version == applied + 1:
            return [envelope]
        missing = await self.history.stream_between(envelope.stream_id, applied, envelope.version)
        if [m.version for m in missing] != list(range(applied + 1, envelope.version)):
            raise MissingHistoryError(
                f"{envelope.stream_id}: need versions {applied + 1}..{envelope.version - 1}"
            )
        return [upcast_envelope(m) for m in missing] + [envelope]


def _note(doc: ReadModel, envelope: EventEnvelope) -> ChangeNotification:
    return ChangeNotification(
        read_model=doc.NAME,
        id=doc.id,
        version=doc.versions.get(doc.id, doc.versions.get(envelope.stream_id, 0)),
        position=envelope.position or 0,
        data=doc.model_dump(mode="json"),
        traceparent=envelope.metadata.traceparent,
    )
