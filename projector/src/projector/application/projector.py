"""Apply one event to every read model it changes, exactly once in effect.

For each (read model, document) the event targets:
- an event at or below the version the document has applied for that stream is skipped
  (redelivery, replay);
- an event more than one version ahead is never applied over the gap: the missing
  events are read from the event store and applied first, in order;
- the document is stored with compare-and-set; a concurrent writer makes us re-read
  and re-apply, so replicas on different partitions never lose each other's work.
Only after every document is stored are the cache and the query replicas told."""

from dataclasses import dataclass

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification, ReadModel
from cqrs_contracts.upcasting import decode_event, upcast_envelope
from projector.application.ports import ConcurrentChangeError, History, Notifier, Views
from projector.projections.registry import PROJECTIONS, Projection, project


class ConflictRetriesExhaustedError(RuntimeError):
    """A document kept changing under us; the event will be retried."""


class MissingHistoryError(RuntimeError):
    """The event store does not (yet) hold the events of a gap; retried later."""


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
        if event is None:  # a type this version does not project
            return outcome
        for views in self.views:
            for projection in PROJECTIONS:
                for doc_id in projection.targets(event):
                    note = await self._project_one(views, projection, doc_id, envelope)
                    if note is None:
                        outcome.skipped += 1
                    elif views is self.views[0]:
                        outcome.changed.append(note)
        if self.notifier is not None:
            await self.notifier.published(outcome.changed, envelope)
        return outcome

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
    )
