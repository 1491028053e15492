"""Is the projector alive, and how far has each projection got: per partition the last
offset stored, the partition's end and the lag between them, the last event store
position, and whether a rebuild is under way."""

from datetime import datetime
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import READER
from projector.adapters.rebuild_control import RebuildControl
from projector.bootstrap import Container, read_db


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@get("/health", tags=["health"], summary="Liveness: the process and its consumer loop run")
async def liveness(container: NamedDependency[Container]) -> Response[dict[str, str]]:
    """Whether this process works (restart it if not): its consumer loop runs. No
    dependency is asked: a Kafka outage is a readiness matter (/api/v1/cqrs/health),
    and restarting every projector for it only adds load when Kafka comes back."""
    running = container.consumer is not None and container.consumer.running
    body = {
        "status": "ok" if running else "down",
        "service": "projector",
        "consumer": "running" if running else "stopped",
    }
    return Response(body, status_code=200 if running else 503)


@get("/api/v1/cqrs/projections", tags=["projections"], summary="Projector status", guards=[READER])
async def status(container: NamedDependency[Container]) -> dict[str, Any]:
    consumer = container.consumer
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
        "projections": dict.fromkeys(READ_MODELS, projection),
    }
