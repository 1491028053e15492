"""How the projections' consumer takes a batch: envelopes to project, what is not one
rejected (dead-lettered at once, the rest still batched), the furthest event-store
position per partition for status."""

from cqrs_contracts.envelopes import EventEnvelope
from projector.adapters.memory_consumer import MemoryTopic
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from projector.entrypoints.consumer import ProjectionProcessor
from tests.unit.projector.fakes import plain_forgetting
from tests.unit.webhooks.helpers import envelope


class NoHistory:
    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        return []


def test_a_batch_decodes_to_envelopes_and_rejects_what_is_not_one() -> None:
    topic = MemoryTopic("events", partitions=2)
    event, later = envelope(), envelope().model_copy(update={"position": 12})
    good = topic.publish(event.model_dump_json().encode(), partition=0)
    junk = topic.publish(b'{"not": "an envelope"}', partition=0)
    empty = topic.publish(None, partition=1)
    newer = topic.publish(later.model_dump_json().encode(), partition=1)
    projector = Projector(views=[MemoryViews()], history=NoHistory(), notifier=None)
    processor = ProjectionProcessor(projector, plain_forgetting(), telemetry=False)

    batch = processor.decode([good, junk, empty, newer])

    assert [(m, e.event_id) for m, e in batch.items] == [
        (good, event.event_id),
        (newer, later.event_id),
    ]
    assert [m for m, _ in batch.rejected] == [junk, empty]
    assert all(error.startswith("not an event envelope") for _, error in batch.rejected)
    assert batch.positions == {0: 7, 1: 12}
    assert batch.close is None  # no spans without telemetry
    assert batch.received_at > 0
