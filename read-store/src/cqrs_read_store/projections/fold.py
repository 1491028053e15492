"""A read-model document as it was: the events that feed it, folded with `project`, the
very step the projector applies live (time travel answers from this, never from a second
implementation of the projections)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ReadModel
from cqrs_read_store.projections.registry import Projection, decoded, project


@dataclass(frozen=True)
class Folded:
    """The document (None: no event had made it yet) and what it reflects: the version of
    its own stream, the position and the time of the last event folded into it."""

    doc: ReadModel | None
    version: int = 0
    position: int = 0
    at: datetime | None = None


def fold(projection: Projection, doc_id: str, envelopes: Iterable[EventEnvelope]) -> Folded:
    """`doc_id`'s document after `envelopes` (at their current schema versions, in position
    order). As in the projector, a stream starts feeding the document with an event aimed
    at it (`projection.targets`), and from then on each of its events is applied in
    version order (the projector fills the gaps of a stream the same way); an event the
    document already reflects is skipped, and one past a gap raises StaleEventError."""
    doc: ReadModel | None = None
    last: EventEnvelope | None = None
    for envelope in envelopes:
        event = decoded(envelope)
        if event is None:
            continue
        applied = doc.versions.get(envelope.stream_id, 0) if doc else 0
        if envelope.version <= applied:
            continue
        if applied == 0 and doc_id not in projection.targets(event):
            continue
        doc = project(projection, doc, doc_id, envelope, event)
        last = envelope
    if doc is None or last is None:
        return Folded(None)
    return Folded(doc, doc.version, last.position or 0, last.occurred_at)
