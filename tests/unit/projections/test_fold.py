"""`fold`: a document folded from its events equals what the projector stored live after
each of them, for every read model and every prefix of a story."""

from __future__ import annotations

import pytest

from cqrs_contracts.read_models import READ_MODELS
from cqrs_read_store.projections.fold import Folded, fold
from cqrs_read_store.projections.registry import BY_NAME, StaleEventError
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from tests.unit.projections.helpers import (
    Log,
    envelope,
    new_id,
    order_cancelled,
    order_created,
    order_updated,
    payment_processed,
    payment_refunded,
    user_created,
    user_updated,
)
from tests.unit.projections.test_projector import FakeHistory

UID, OID, OID2, PID, PID2 = (new_id() for _ in range(5))


def story() -> Log:
    return Log().add(
        user_created(UID),
        user_updated(UID, name="Ada L."),
        order_created(OID, UID, amount="100.00"),
        order_created(OID2, UID, amount="30.00"),
        payment_processed(PID, OID, UID, "60.00"),
        order_updated(OID, UID, status="partially_paid", paid_amount="60.00"),
        payment_refunded(PID, OID, "10.00", "10.00", "partially_refunded"),
        order_updated(OID, UID, refunded_amount="10.00"),
        payment_processed(PID2, OID2, UID, "30.00"),
        order_updated(OID2, None, status="paid", paid_amount="30.00"),  # no owner named
        user_updated(UID, email="ada@lovelace.example"),
        payment_refunded(PID, OID, "50.00", "60.00", "refunded"),
        order_cancelled(OID2, UID),
    )


DOCS = {
    "UserReadModel": [UID],
    "OrderReadModel": [OID, OID2],
    "PaymentReadModel": [PID, PID2],
    "UserOrderReadModel": [UID],
    "OrderPaymentReadModel": [OID, OID2],
}


async def test_every_prefix_folds_to_what_the_projector_stored_then() -> None:
    log = story()
    views = MemoryViews()
    projector = Projector(views=[views], history=FakeHistory(log.envelopes), notifier=None)
    assert set(DOCS) == set(READ_MODELS)
    compared = 0
    for n, env in enumerate(log.envelopes, start=1):
        await projector.handle(env)
        for name, ids in DOCS.items():
            for doc_id in ids:
                live = views.docs.get((name, doc_id), (None, 0))[0]
                folded = fold(BY_NAME[name], doc_id, log.envelopes[:n])
                if live is None:
                    assert folded == Folded(None)
                    continue
                # the projector applies the unowned OrderUpdated (event 10) to the user's
                # orders only when the next event of that order (13) fills the gap; the
                # fold has it at once (commands always name the owner)
                if name == "UserOrderReadModel" and 10 <= n < 13:
                    continue
                assert folded.doc == live, (name, doc_id, n)
                assert folded.version == live.version
                assert folded.position == max(
                    e.position or 0 for e in log.envelopes[:n] if e.stream_id in live.versions
                )
                compared += 1
    assert compared > 40


def test_the_answer_names_the_last_event_folded() -> None:
    log = story()
    folded = fold(BY_NAME["OrderPaymentReadModel"], OID, log.envelopes[:7])
    last = log.envelopes[6]
    assert folded.doc is not None
    assert (folded.version, folded.position, folded.at) == (2, 7, last.occurred_at)
    assert folded.doc.versions == {OID: 2, PID: 2}


def test_events_of_other_documents_and_unknown_types_are_passed_over() -> None:
    log = story()
    unknown = log.envelopes[0].model_copy(update={"type": "SomethingElse", "version": 9})
    assert fold(BY_NAME["UserReadModel"], new_id(), log.envelopes) == Folded(None)
    user = fold(BY_NAME["UserReadModel"], UID, [*log.envelopes, unknown])
    assert user.doc is not None
    assert user.version == 3


def test_a_gap_in_a_stream_is_refused_not_folded_over() -> None:
    log = story()
    gap = envelope(user_updated(UID, name="Z"), version=5, position=99)
    with pytest.raises(StaleEventError):
        fold(BY_NAME["UserReadModel"], UID, [*log.envelopes, gap])
