"""Admin corrections through the projector's writer port: a correction that meets a
concurrent change reads the document again and retries; each applied correction (and
each deletion) is announced once, with no event behind it."""

import pytest

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification, ReadModel, UserReadModel
from projector.application.corrections import (
    MAX_ATTEMPTS,
    CorrectionNotAppliedError,
    Corrections,
)
from projector.application.memory_views import MemoryViews
from projector.application.ports import ConcurrentChangeError


class Announced:
    def __init__(self) -> None:
        self.calls: list[tuple[list[ChangeNotification], list[EventEnvelope]]] = []

    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        self.calls.append((changes, [envelope]))

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        self.calls.append((changes, envelopes))


class RacedViews(MemoryViews):
    """Another writer moves the document on between this one's load and save, `races` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    async def save(self, doc: ReadModel, revision: int) -> int:
        if self.races > 0:
            self.races -= 1
            other, current = self.docs.get((doc.NAME, doc.id), (doc, 0))
            self.docs[(doc.NAME, doc.id)] = (other, current + 1)
            raise ConcurrentChangeError(doc.id)
        return await super().save(doc, revision)


async def test_a_correction_retries_a_concurrent_change_and_is_announced() -> None:
    views, notes = RacedViews(races=2), Announced()
    corrections = Corrections(views, notes)
    doc = UserReadModel(id="u-1", name="Corrected", versions={"u-1": 3})

    revision = await corrections.put(doc)

    assert revision == 3  # two changes by the other writer, then this one
    assert views.docs[("UserReadModel", "u-1")] == (doc, 3)
    ((changes, envelopes),) = notes.calls
    assert envelopes == []
    assert [(c.read_model, c.id, c.version, c.data) for c in changes] == [
        ("UserReadModel", "u-1", 3, doc.model_dump(mode="json"))
    ]


async def test_a_correction_that_never_gets_through_is_refused_unannounced() -> None:
    views, notes = RacedViews(races=MAX_ATTEMPTS), Announced()
    with pytest.raises(CorrectionNotAppliedError):
        await Corrections(views, notes).put(UserReadModel(id="u-2"))
    assert notes.calls == []


async def test_a_deletion_is_announced_only_when_there_was_a_document() -> None:
    views, notes = MemoryViews(), Announced()
    corrections = Corrections(views, notes)
    await corrections.put(UserReadModel(id="u-3"))
    notes.calls.clear()

    assert await corrections.delete(UserReadModel, "u-3") is True
    assert await corrections.delete(UserReadModel, "u-3") is False
    ((changes, _),) = notes.calls
    assert [(c.id, c.version, c.data) for c in changes] == [("u-3", 0, None)]
