"""Is the projector alive, and how far has each projection got: per partition the last
offset stored, the partition's end and the lag between them, the last event store
position, and whether a rebuild is under way."""

from datetime import datetime
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from cqrs_contracts.read_models import COLLECTIONS
from cqrs_http.auth import READER
from projector.adapters.rebuild_control import RebuildControl
from projector.bootstrap import Container, read_db
from projector.entrypoints.consumer import EventConsumer

BROKER_PING_SECONDS = 2.0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@get(
    "/health", tags=["health"], summary="Liveness: the process answers and the broker is reachable"
)
async def liveness(container: NamedDependency[Container]) -> Response[dict[str, str]]:
    if await container.broker.ping(timeout=BROKER_PING_SECONDS):
        return Response({"status": "ok", "service": "projector", "broker": "connected"})
    body = {"status": "down", "service": "projector", "broker": "unreachable"}
    return Response(body, status_code=503)


@get("/api/v1/cqrs/projections", tags=["projections"], summary="Projector status", guards=[READER])
async def status(container: NamedDependency[Container]) -> dict[str, Any]:
    consumer: EventConsumer = container.extra["consumer"]
    partitions = {
        str(number): {
            "offset": state.offset,
            "high_water": state.high_water,
            "lag": state.lag,
            "last_position": state.position,
        }
        for number, state in sorted(consumer.partitions.items())
    }
    last_position = max((s.position for s in consumer.partitions.values()), default=0)
    rebuild = await RebuildControl(read_db(container)).state()
    projection = {
        "last_position": last_position,
        "lag": sum(s.lag for s in consumer.partitions.values()),
        "partitions": partitions,
        "rebuild": rebuild,
    }
    return {
        "processed": consumer.processed,
        "batches": consumer.batches,
        "dead_lettered": consumer.dead_lettered,
        "first_batch_at": _iso(consumer.first_batch_at),
        "last_stored_at": _iso(consumer.last_stored_at),
        "topic": container.settings.kafka.topic,
        "group_id": container.settings.kafka.group_id,
        "projections": dict.fromkeys(COLLECTIONS, projection),
    }
