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

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import EVENT_TYPES, EventData
from cqrs_contracts.read_models import ChangeNotification, ReadModel
from cqrs_contracts.upcasting import upcast_envelope
from cqrs_read_store.projections.registry import PROJECTIONS, Projection, decoded, project
from projector.application.ports import ConcurrentChangeError, History, Notifier, Views


class ConflictRetriesExhaustedError(RuntimeError):
    """A document kept changing under us; the event will be retried."""


class MissingHistoryError(RuntimeError):
    """The event store does not (yet) hold the events of a gap; retried later."""


Target = tuple[Projection, str]  # a read model's projection and one document id
Stored = tuple[ReadModel, int]  # a document and its revision
Step = tuple[EventEnvelope, EventData]  # an event at its current version, and its data


@dataclass
class Outcome:
    changed: list[ChangeNotification]
    skipped: int = 0
    projected: dict[str, int] = field(default_factory=dict)  # events per read model name


def current(envelope: EventEnvelope) -> EventEnvelope:
    """The envelope at its type's current schema version (itself when it already is)."""
    cls = EVENT_TYPES.get(envelope.type)
    if cls is None or envelope.schema_version == cls.SCHEMA_VERSION:
        return envelope
    return upcast_envelope(envelope)


@dataclass
class Projector:
    views: list[Views]  # the live set, plus a rebuild's staging set while one runs
    history: History
    notifier: Notifier | None
    max_conflict_retries: int = 50

    async def handle(
        self,
        envelope: EventEnvelope,
        *,
        kafka_at: float | None = None,
        received_at: float | None = None,
    ) -> Outcome:
        """One event; `kafka_at` and `received_at` (epoch ms: the record's timestamp, when
        the consumer took it) go into the change notifications' timings."""
        envelope = current(envelope)
        event = decoded(envelope)
        outcome = Outcome(changed=[])
        targeted = [(p, d) for p in PROJECTIONS for d in p.targets(event)] if event else []
        timings = _timings(kafka_at, received_at)
        for projection, _ in targeted:
            name = projection.model.NAME
            outcome.projected[name] = outcome.projected.get(name, 0) + 1
        for views in self.views:  # event None: a type no read model projects
            for projection, doc_id in targeted:
                note = await self._project_one(views, projection, doc_id, envelope, timings)
                if note is None:
                    outcome.skipped += 1
                elif views is self.views[0]:
                    outcome.changed.append(note)
        _stored_now(outcome.changed)
        if self.notifier is not None:
            await self.notifier.published(outcome.changed, envelope)
        return outcome

    async def handle_batch(
        self,
        envelopes: Sequence[EventEnvelope],
        *,
        kafka_at: Mapping[str, float] | None = None,
        received_at: float | None = None,
    ) -> Outcome:
        """Many events; `kafka_at` (the record timestamp per event id) and `received_at`
        go into the change notifications' timings, as in `handle`."""
        steps: list[Step] = []
        every: list[EventEnvelope] = []  # with the types no read model projects
        for raw in envelopes:
            envelope = current(raw)
            every.append(envelope)
            event = decoded(envelope)
            if event is not None:
                steps.append((envelope, event))
        work: dict[Target, list[Step]] = {}
        for step in steps:
            for projection in PROJECTIONS:
                for doc_id in projection.targets(step[1]):
                    work.setdefault((projection, doc_id), []).append(step)
        # notifications only for someone to tell (not for a rebuild's replay)
        stamps = _Stamps(kafka_at, received_at) if self.notifier is not None else None
        live, *staging = self.views
        # every set of read models at once (a rebuild's staging set beside the live one)
        changed, *_ = await asyncio.gather(
            self._batch_into(live, work, stamps),
            *(self._batch_into(views, work, None) for views in staging),
        )
        _stored_now(changed)
        projected: dict[str, int] = {}
        for (projection, _), targeted in work.items():
            name = projection.model.NAME
            projected[name] = projected.get(name, 0) + len(targeted)
        if self.notifier is not None and every:
            # every event is recorded as applied (a consistency token for a declared
            # command's stream is then reached) and goes on the event feed
            await self.notifier.published_many(changed, every)
        return Outcome(changed=changed, projected=projected)

    async def _batch_into(
        self, views: Views, work: dict[Target, list[Step]], stamps: "_Stamps | None"
    ) -> list[ChangeNotification]:
        loaded = await self._load(views, list(work))
        writes: list[tuple[ReadModel, int]] = []
        notes: dict[Target, ChangeNotification] = {}
        for target, targeted in work.items():
            start, revision = loaded.get(target, (None, 0))
            doc, last = await self._advance(target, start, targeted)
            if doc is not None and doc is not start:
                writes.append((doc, revision))
            if doc is not None and last is not None and stamps is not None:
                notes[target] = _note(doc, last, stamps.of(last))
        clashed = await views.save_many(writes)
        for target, targeted in work.items():
            if target[0].model.NAME in clashed:
                notes.pop(target, None)
                for envelope, _ in targeted:
                    timings = stamps.of(envelope) if stamps is not None else None
                    note = await self._project_one(views, *target, envelope, timings)
                    if note is not None and stamps is not None:
                        notes[target] = note
        return list(notes.values())

    @staticmethod
    async def _load(views: Views, targets: list[Target]) -> dict[Target, tuple[ReadModel, int]]:
        """Every targeted document that exists, one query per read model, all at once."""
        wanted: dict[Projection, list[str]] = {}
        for projection, doc_id in targets:
            wanted.setdefault(projection, []).append(doc_id)
        found = await asyncio.gather(
            *(views.load_many(projection.model, ids) for projection, ids in wanted.items())
        )
        loaded: dict[Target, tuple[ReadModel, int]] = {}
        for projection, docs in zip(wanted, found, strict=True):
            loaded.update({(projection, i): docs[i] for i in docs})
        return loaded

    async def _advance(
        self, target: Target, doc: ReadModel | None, targeted: list[Step]
    ) -> tuple[ReadModel | None, EventEnvelope | None]:
        """`doc` after every event of `targeted` it has not applied (gaps filled first),
        and the last event that concerns it (None: nothing to tell readers)."""
        projection, doc_id = target
        last = None
        for envelope, event in targeted:
            applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
            if envelope.version <= applied:
                if envelope.version == applied and doc is not None:
                    last = envelope  # redelivered latest: tell readers again
                continue
            if envelope.version != applied + 1:
                for step in await self._gap(envelope, applied):
                    step_event = decoded(step)
                    if step_event is not None:
                        doc = project(projection, doc, doc_id, step, step_event)
            doc = project(projection, doc, doc_id, envelope, event)
            last = envelope
        return doc, last

    async def _project_one(
        self,
        views: Views,
        projection: Projection,
        doc_id: str,
        envelope: EventEnvelope,
        timings: dict[str, float] | None = None,
    ) -> ChangeNotification | None:
        for _ in range(self.max_conflict_retries):
            doc, revision = await views.load(projection.model, doc_id)
            applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
            if envelope.version == applied and doc is not None:
                # redelivered latest: tell readers again
                return _note(doc, envelope, timings)
            if envelope.version < applied:
                return None
            pending = [*await self._gap(envelope, applied), envelope]
            for step in pending:
                step_event = decoded(step)
                if step_event is not None:
                    doc = project(projection, doc, doc_id, step, step_event)
            if doc is None:
                return None
            try:
                await views.save(doc, revision)
            except ConcurrentChangeError:
                continue
            return _note(doc, envelope, timings)
        raise ConflictRetriesExhaustedError(f"{projection.model.NAME} {doc_id}")

    async def _gap(self, envelope: EventEnvelope, applied: int) -> list[EventEnvelope]:
        """The events of the stream between the applied version and `envelope`, from the
        event store, at their current versions."""
        if envelope.version == applied + 1:
            return []
        missing = await self.history.stream_between(envelope.stream_id, applied, envelope.version)
        if [m.version for m in missing] != list(range(applied + 1, envelope.version)):
            raise MissingHistoryError(
                f"{envelope.stream_id}: need versions {applied + 1}..{envelope.version - 1}"
            )
        return [current(m) for m in missing]


class _Stamps:
    """The timings of a batch's events: the record's timestamp, when it was received."""

    def __init__(self, kafka_at: Mapping[str, float] | None, received_at: float | None) -> None:
        self._kafka_at = kafka_at or {}
        self._received_at = received_at

    def of(self, envelope: EventEnvelope) -> dict[str, float] | None:
        return _timings(self._kafka_at.get(envelope.event_id), self._received_at)


def _timings(kafka_at: float | None, received_at: float | None) -> dict[str, float] | None:
    timings = {}
    if kafka_at is not None and kafka_at >= 0:
        timings["kafka"] = kafka_at
    if received_at is not None:
        timings["received"] = received_at
    return timings or None


def _stored_now(notes: list[ChangeNotification]) -> None:
    """Stamp the notifications of what was just stored (before they are published)."""
    stored = time.time() * 1000
    for note in notes:
        note.timings = {**(note.timings or {}), "stored": stored}


def _note(
    doc: ReadModel, envelope: EventEnvelope, timings: dict[str, float] | None = None
) -> ChangeNotification:
    # built from values that are already valid: no validation round trip
    return ChangeNotification.model_construct(
        read_model=doc.NAME,
        id=doc.id,
        version=doc.versions.get(doc.id, doc.versions.get(envelope.stream_id, 0)),
        position=envelope.position or 0,
        data=doc.model_dump(mode="json"),
        traceparent=envelope.metadata.traceparent,
        timings=dict(timings) if timings is not None else None,
    )
