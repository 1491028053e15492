"""POST /api/v1/cqrs/projections/dlq/streams/{stream_id}/retry: re-drive every dead
letter of one stream, oldest first (so the stream's events reach the events topic again
in their order). A dead letter belongs to the stream its Kafka key names (the stream id
the relay keyed it by) or its envelope's `stream_id`. 404 when the stream has none."""

from typing import Any

from litestar import Response, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from cqrs_http.auth import ADMIN
from projector.adapters.dead_letters import DeadLetter, read_dead_letters, redrive
from projector.bootstrap import Container


def of_stream(entry: DeadLetter, stream_id: str) -> bool:
    payload_stream = entry.payload.get("stream_id") if isinstance(entry.payload, dict) else None
    return stream_id in (entry.key, payload_stream)


@post(
    "/api/v1/cqrs/projections/dlq/streams/{stream_id:str}/retry",
    status_code=202,
    tags=["projections"],
    summary="Re-drive every dead letter of one stream, oldest first",
    guards=[ADMIN],
)
async def retry_stream_dead_letters(
    stream_id: FromPath[str], container: NamedDependency[Container]
) -> Response[dict[str, Any]]:
    kafka = container.settings.kafka
    entries = [
        e
        for e in await read_dead_letters(kafka.bootstrap, kafka.dlq_topic)
        if of_stream(e, stream_id)
    ]
    if not entries:
        raise NotFoundException(f"no dead letter of stream {stream_id}")
    for entry in entries:  # in (partition, offset) order: one stream is one partition
        await redrive(container.broker, entry, kafka.topic)
    body = {
        "stream_id": stream_id,
        "redriven": [{"ref": e.ref, "event_id": e.event_id} for e in entries],
    }
    return Response(body, status_code=202)
