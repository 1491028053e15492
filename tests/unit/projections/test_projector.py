"""Projector.handle over in-memory Views and History: duplicates are skipped, gaps are
filled from history (or refused), concurrent changes are re-read and re-applied."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import (
    ChangeNotification,
    OrderPaymentReadModel,
    OrderReadModel,
    ReadModel,
    UserOrderReadModel,
    UserReadModel,
)
from projector.application.memory_views import MemoryViews
from projector.application.ports import ConcurrentChangeError
from projector.application.projector import (
    ConflictRetriesExhaustedError,
    MissingHistoryError,
    Projector,
)
from tests.unit.projections.helpers import (
    Log,
    M,
    fold,
    new_id,
    order_created,
    order_updated,
    payment_processed,
    user_created,
    user_updated,
)


class RecordingViews(MemoryViews):
    """The projector's in-memory views, recording every save: (read model, id, new
    revision)."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[str, str, int]] = []

    async def save(self, doc: ReadModel, revision: int) -> int:
        stored = await super().save(doc, revision)
        self.saves.append((doc.NAME, doc.id, stored))
        return stored

    def get(self, model: type[M], doc_id: str) -> M | None:
        doc = self.docs.get((model.NAME, doc_id), (None, 0))[0]
        assert doc is None or isinstance(doc, model), doc
        return doc


class FakeHistory:
    def __init__(self, envelopes: list[EventEnvelope] | None = None) -> None:
        self.envelopes = envelopes or []
        self.calls: list[tuple[str, int, int]] = []

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        self.calls.append((stream_id, after, before))
        found = [
            e for e in self.envelopes if e.stream_id == stream_id and after < e.version < before
        ]
        return sorted(found, key=lambda e: e.version)


class FakeNotifier:
    def __init__(self) -> None:
        self.notes: list[ChangeNotification] = []
        self.events: list[str] = []

    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        self.notes.extend(changes)
        self.events.append(envelope.event_id)

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        self.notes.extend(changes)
        self.events.extend(e.event_id for e in envelopes)


def projector(
    views: RecordingViews, history: FakeHistory | None = None, max_conflict_retries: int = 50
) -> Projector:
    return Projector(
        views=[views],
        history=history or FakeHistory(),
        notifier=None,
        max_conflict_retries=max_conflict_retries,
    )


async def test_one_event_updates_every_read_model_it_targets_and_notifies_once() -> None:
    uid, oid = new_id(), new_id()
    log = Log().add(order_created(oid, uid))
    views, notifier = RecordingViews(), FakeNotifier()
    p = Projector(views=[views], history=FakeHistory(), notifier=notifier)

    outcome = await p.handle(log.envelopes[0])

    assert sorted((n.read_model, n.id) for n in outcome.changed) == sorted(
        [("OrderReadModel", oid), ("UserOrderReadModel", uid), ("OrderPaymentReadModel", oid)]
    )
    assert notifier.notes == outcome.changed
    assert notifier.events == [log.envelopes[0].event_id]
    models: list[tuple[type[ReadModel], str]] = [
        (OrderReadModel, oid),
        (UserOrderReadModel, uid),
        (OrderPaymentReadModel, oid),
    ]
    for model, doc_id in models:
        assert views.get(model, doc_id) == fold(model, doc_id, log.entries)


async def test_a_duplicate_event_is_not_saved_twice() -> None:
    uid = new_id()
    log = Log().add(user_created(uid), user_updated(uid, name="B"))
    views = RecordingViews()
    p = projector(views)
    for env in log.envelopes:
        await p.handle(env)
    saves = list(views.saves)

    latest = await p.handle(log.envelopes[1])  # redelivered latest: readers told again
    older = await p.handle(log.envelopes[0])  # replayed older: skipped

    assert views.saves == saves
    assert {n.read_model for n in latest.changed} == {"UserReadModel", "UserOrderReadModel"}
    assert (older.changed, older.skipped) == ([], 2)
    assert views.get(UserReadModel, uid) == fold(UserReadModel, uid, log.entries)


async def test_an_event_ahead_of_the_document_fills_the_gap_from_history() -> None:
    uid = new_id()
    log = Log().add(
        user_created(uid), user_updated(uid, name="B"), user_updated(uid, email="b@x.io")
    )
    views, history = RecordingViews(), FakeHistory(log.envelopes)
    p = projector(views, history)

    await p.handle(log.envelopes[2])  # v3 first
    await p.handle(log.envelopes[1])  # then v2: already applied
    await p.handle(log.envelopes[0])

    assert history.calls == [(uid, 0, 3), (uid, 0, 3)]  # once per read model
    for model in (UserReadModel, UserOrderReadModel):
        assert views.get(model, uid) == fold(model, uid, log.entries)
    assert len(views.saves) == 2


async def test_a_gap_the_history_cannot_fill_is_refused_and_nothing_is_saved() -> None:
    uid = new_id()
    log = Log().add(
        user_created(uid), user_updated(uid, name="B"), user_updated(uid, email="b@x.io")
    )
    views = RecordingViews()
    p = projector(views, FakeHistory([log.envelopes[0]]))  # v2 not (yet) stored

    with pytest.raises(MissingHistoryError):
        await p.handle(log.envelopes[2])

    assert views.saves == []


async def test_a_concurrent_change_is_read_again_and_both_changes_survive() -> None:
    uid, o1, o2 = new_id(), new_id(), new_id()
    log = Log().add(user_created(uid), order_created(o1, uid), order_created(o2, uid))
    views = RecordingViews()
    p = projector(views)
    await p.handle(log.envelopes[0])
    real_save = views.save
    clashes: list[str] = []

    async def save_after_another_writer(doc: ReadModel, revision: int) -> int:
        if isinstance(doc, UserOrderReadModel) and not clashes:
            clashes.append(doc.id)  # another replica stores o2's order first
            other = Projector(views=[views], history=FakeHistory(), notifier=None)
            views.save = real_save  # type: ignore[method-assign]
            await other.handle(log.envelopes[2])
            views.save = save_after_another_writer  # type: ignore[method-assign]
        return await real_save(doc, revision)

    views.save = save_after_another_writer  # type: ignore[method-assign]
    await p.handle(log.envelopes[1])

    assert clashes == [uid]
    doc = views.get(UserOrderReadModel, uid)
    assert isinstance(doc, UserOrderReadModel)
    assert sorted(o.order_id for o in doc.orders) == sorted([o1, o2])
    assert doc.versions == {uid: 1, o1: 1, o2: 1}


async def test_a_document_that_keeps_changing_gives_up_after_the_retry_budget() -> None:
    pid, oid, uid = new_id(), new_id(), new_id()
    log = Log().add(payment_processed(pid, oid, uid, "10"))
    views = RecordingViews()
    attempts: list[int] = []

    async def always_clash(doc: ReadModel, revision: int) -> int:
        attempts.append(revision)
        raise ConcurrentChangeError(doc.id)

    views.save = always_clash  # type: ignore[method-assign]
    with pytest.raises(ConflictRetriesExhaustedError):
        await projector(views, max_conflict_retries=3).handle(log.envelopes[0])
    assert len(attempts) == 3


async def test_an_old_schema_version_is_upcast_and_an_unknown_type_is_ignored() -> None:
    uid = new_id()
    old = Log().add(user_created(uid)).envelopes[0]
    data = {k: v for k, v in old.data.items() if k != "age"}
    v1 = old.model_copy(update={"schema_version": 1, "data": data})
    unknown = old.model_copy(update={"type": "UserArchived", "version": 2})
    views = RecordingViews()

    await projector(views).handle(v1)
    outcome = await projector(views).handle(unknown)

    doc = views.get(UserReadModel, uid)
    assert isinstance(doc, UserReadModel)
    assert (doc.name, doc.age, doc.version) == ("Ada", None, 1)
    assert (outcome.changed, len(views.saves)) == ([], 2)


async def test_order_update_without_owner_is_applied_from_history_to_the_user_view() -> None:
    uid, oid = new_id(), new_id()
    log = Log().add(
        user_created(uid),
        order_created(oid, uid, "100", "EUR"),
        order_updated(oid, None, amount="70"),  # targets no user view on its own
        order_updated(oid, uid, status="paid", paid_amount="70"),
    )
    views = RecordingViews()
    p = projector(views, FakeHistory(log.envelopes))
    for env in log.envelopes:
        await p.handle(env)

    doc = views.get(UserOrderReadModel, uid)
    assert isinstance(doc, UserOrderReadModel)
    assert [(o.amount, o.status) for o in doc.orders] == [(Decimal("70"), "paid")]
    assert doc.versions == {uid: 1, oid: 3}
