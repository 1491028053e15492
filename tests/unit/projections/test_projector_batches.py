"""Projector.handle_batch: the same read models as one event at a time, each document
written once per batch, gaps filled from history, clashes redone one by one."""

from __future__ import annotations

import random

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import (
    ChangeNotification,
    OrderPaymentReadModel,
    OrderReadModel,
    PaymentReadModel,
    ReadModel,
    UserOrderReadModel,
    UserReadModel,
)
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from tests.unit.projections.helpers import (
    Log,
    fold,
    new_id,
    order_cancelled,
    order_created,
    order_updated,
    payment_processed,
    payment_refunded,
    user_created,
    user_updated,
)

MODELS = (
    UserReadModel,
    OrderReadModel,
    PaymentReadModel,
    UserOrderReadModel,
    OrderPaymentReadModel,
)


class CountingViews(MemoryViews):
    """Memory views that count bulk writes and can report every bulk write as clashed
    (as a concurrent replica would make it) after storing only part of it."""

    def __init__(self, clash: bool = False) -> None:
        super().__init__()
        self.bulk_writes: list[list[tuple[str, str]]] = []
        self.clash = clash

    async def save_many(self, writes: list[tuple[ReadModel, int]]) -> set[str]:
        self.bulk_writes.append([(d.NAME, d.id) for d, _ in writes])
        if not self.clash:
            return await super().save_many(writes)
        for doc, revision in writes[::2]:  # half of it landed, then a replica got in
            await self.save(doc, revision)
        return {d.NAME for d, _ in writes}


class History:
    def __init__(self, envelopes: list[EventEnvelope]) -> None:
        self.envelopes = envelopes

    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        found = [
            e for e in self.envelopes if e.stream_id == stream_id and after < e.version < before
        ]
        return sorted(found, key=lambda e: e.version)


class Notifier:
    def __init__(self) -> None:
        self.calls: list[tuple[list[ChangeNotification], list[str]]] = []

    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        await self.published_many(changes, [envelope])

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        self.calls.append((changes, [e.event_id for e in envelopes]))


def story(seed: int) -> tuple[Log, list[tuple[type[ReadModel], str]]]:
    """Three users with orders, updates, payments, refunds and a cancellation."""
    rng = random.Random(seed)
    log, docs = Log(), []
    for _ in range(3):
        uid = new_id()
        log.add(user_created(uid, email=f"{uid}@example.com"))
        docs += [(UserReadModel, uid), (UserOrderReadModel, uid)]
        for _ in range(rng.randint(1, 3)):
            oid, pid = new_id(), new_id()
            log.add(order_created(oid, uid, amount="100.00"))
            docs += [(OrderReadModel, oid), (OrderPaymentReadModel, oid), (PaymentReadModel, pid)]
            if rng.random() < 0.5:
                log.add(order_updated(oid, uid, description="gift"))
            if rng.random() < 0.3:
                log.add(order_cancelled(oid, uid))
                continue
            log.add(payment_processed(pid, oid, uid, "60.00"))
            log.add(payment_refunded(pid, oid, "10.00", "10.00", "partially_refunded"))
        log.add(user_updated(uid, name="Grace"))
    return log, docs


def chunks(envelopes: list[EventEnvelope], rng: random.Random) -> list[list[EventEnvelope]]:
    out, i = [], 0
    while i < len(envelopes):
        size = rng.randint(1, 7)
        out.append(envelopes[i : i + size])
        i += size
    return out


def assert_matches_fold(
    views: MemoryViews, log: Log, docs: list[tuple[type[ReadModel], str]]
) -> None:
    for model, doc_id in docs:
        stored = views.docs[(model.NAME, doc_id)][0] if (model.NAME, doc_id) in views.docs else None
        assert stored == fold(model, doc_id, log.entries), (model.NAME, doc_id)


async def test_batches_of_any_size_give_the_same_read_models_as_a_fold() -> None:
    for seed in range(5):
        log, docs = story(seed)
        views = CountingViews()
        p = Projector(views=[views], history=History(log.envelopes), notifier=None)
        for chunk in chunks(log.envelopes, random.Random(seed)):
            await p.handle_batch(chunk)
        assert_matches_fold(views, log, docs)


async def test_redelivered_batches_change_nothing() -> None:
    log, docs = story(7)
    views = CountingViews()
    p = Projector(views=[views], history=History(log.envelopes), notifier=None)
    await p.handle_batch(log.envelopes)
    before = dict(views.docs)

    await p.handle_batch(log.envelopes[3:] + log.envelopes)  # duplicates, replayed older

    assert views.docs == before
    assert views.bulk_writes[-1] == []
    assert_matches_fold(views, log, docs)


async def test_each_document_is_written_once_per_batch() -> None:
    uid = new_id()
    log = Log().add(user_created(uid), *(user_updated(uid, age=40 + i) for i in range(20)))
    views = CountingViews()
    p = Projector(views=[views], history=History(log.envelopes), notifier=None)

    await p.handle_batch(log.envelopes)

    assert sorted(views.bulk_writes[0]) == [("UserOrderReadModel", uid), ("UserReadModel", uid)]
    assert views.docs[("UserReadModel", uid)][1] == 1  # one revision for 21 events
    assert_matches_fold(views, log, [(UserReadModel, uid)])


async def test_a_gap_before_the_batch_is_filled_from_history() -> None:
    uid, oid = new_id(), new_id()
    log = Log().add(
        user_created(uid),
        order_created(oid, uid),
        order_updated(oid, uid, description="a"),
        order_updated(oid, uid, description="b"),
    )
    views = CountingViews()
    p = Projector(views=[views], history=History(log.envelopes), notifier=None)

    await p.handle_batch([log.envelopes[3]])  # order v3 first: v1 and v2 come from history

    assert views.docs[("OrderReadModel", oid)][0] == fold(OrderReadModel, oid, log.entries[:4])


async def test_a_bulk_write_that_met_a_replica_is_redone_document_by_document() -> None:
    log, docs = story(3)
    views = CountingViews(clash=True)
    p = Projector(views=[views], history=History(log.envelopes), notifier=None)

    for chunk in chunks(log.envelopes, random.Random(3)):
        await p.handle_batch(chunk)

    assert_matches_fold(views, log, docs)


async def test_readers_are_told_once_per_document_and_every_event_is_recorded() -> None:
    uid = new_id()
    log = Log().add(user_created(uid), user_updated(uid, name="B"), user_updated(uid, name="C"))
    notifier = Notifier()
    p = Projector(views=[MemoryViews()], history=History(log.envelopes), notifier=notifier)

    await p.handle_batch(log.envelopes)

    [(changes, event_ids)] = notifier.calls
    assert event_ids == [e.event_id for e in log.envelopes]
    assert sorted((c.read_model, c.id, c.version) for c in changes) == [
        ("UserOrderReadModel", uid, 3),
        ("UserReadModel", uid, 3),
    ]
    user = next(c for c in changes if c.read_model == "UserReadModel")
    assert user.data is not None
    assert user.data["name"] == "C"


async def test_an_event_no_read_model_projects_is_still_recorded_and_fed_on() -> None:
    uid = new_id()
    known = Log().add(user_created(uid)).envelopes[0]
    declared = known.model_copy(
        update={"type": "TicketOpened", "stream_type": "ticket", "stream_id": new_id(), "data": {}}
    )
    notifier = Notifier()
    p = Projector(views=[MemoryViews()], history=History([]), notifier=notifier)

    await p.handle_batch([known, declared])
    single = await p.handle(declared)

    [(changes, event_ids), (_, again)] = notifier.calls
    assert event_ids == [known.event_id, declared.event_id]  # its version is recorded too
    assert {c.id for c in changes} == {uid}
    assert (again, single.changed) == ([declared.event_id], [])


async def test_notifications_carry_when_each_stage_was_passed() -> None:
    uid = new_id()
    first, second = Log().add(user_created(uid), user_updated(uid, name="B")).envelopes
    notifier = Notifier()
    p = Projector(views=[MemoryViews()], history=History([]), notifier=notifier)

    await p.handle_batch(
        [first, second],
        kafka_at={first.event_id: 1_000.0, second.event_id: 2_000.0},
        received_at=3_000.0,
    )
    await p.handle(user_updated_envelope(uid, second), kafka_at=4_000.0, received_at=5_000.0)

    [(batch, _), (single, _)] = notifier.calls
    for note in batch:  # the last event that changed the document is the one reported
        assert note.timings is not None
        assert (note.timings["kafka"], note.timings["received"]) == (2_000.0, 3_000.0)
        assert note.timings["stored"] >= note.timings["received"]
    for note in single:
        assert note.timings is not None
        assert (note.timings["kafka"], note.timings["received"]) == (4_000.0, 5_000.0)
        assert note.timings["stored"] >= note.timings["received"]
    assert (
        {n.read_model for n in batch}
        == {n.read_model for n in single}
        == {
            "UserReadModel",
            "UserOrderReadModel",
        }
    )


def user_updated_envelope(uid: str, previous: EventEnvelope) -> EventEnvelope:
    """The stream's next event after `previous`."""
    return previous.model_copy(
        update={
            "event_id": new_id(),
            "version": previous.version + 1,
            "position": (previous.position or 0) + 1,
        }
    )
