"""Projector process: the Kafka consumer runs inside this Litestar app's lifespan, and
the app serves health and admin routes (dead letters, read-model corrections).
`create_app` is Granian's target."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.errors import KafkaError
from litestar import Litestar, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from cqrs_contracts.settings import Settings, load_settings
from cqrs_http.auth import ADMIN
from cqrs_http.platform import PlatformPlugin
from cqrs_http.shutdown import bounded, stop_tasks
from projector.adapters.dead_letters import read_dead_letters, redrive
from projector.adapters.metrics import ProjectorGauges
from projector.bootstrap import Container, build, close, read_db, watch_rebuilds
from projector.entrypoints.http.asyncapi import asyncapi_json, asyncapi_page
from projector.entrypoints.http.dead_letter_streams import retry_stream_dead_letters
from projector.entrypoints.http.operations import readiness, stats
from projector.entrypoints.http.read_models import ReadModelCorrectionController
from projector.entrypoints.http.rebuild import RebuildPlugin
from projector.entrypoints.http.status import liveness, status
from projector.webhooks.adapters.outcomes import DEAD_LETTERS as WEBHOOK_DEAD_LETTERS
from projector.webhooks.entrypoints.consumer import webhooks_lifespan
from projector.webhooks.entrypoints.http import EventHandlerController


@get(
    "/api/v1/cqrs/projections/dlq",
    tags=["projections"],
    summary="List dead letters",
    guards=[ADMIN],
)
async def list_dead_letters(container: NamedDependency[Container]) -> dict[str, Any]:
    kafka = container.settings.kafka
    entries = await read_dead_letters(kafka.bootstrap, kafka.dlq_topic)
    return {"items": [{"ref": e.ref, **e.__dict__} for e in entries]}


@post(
    "/api/v1/cqrs/projections/dlq/{ref:str}/retry",
    status_code=202,
    tags=["projections"],
    summary="Re-drive one dead letter to the events topic",
    guards=[ADMIN],
)
async def retry_dead_letter(
    ref: FromPath[str], container: NamedDependency[Container]
) -> Response[Any]:
    kafka = container.settings.kafka
    entry = next(
        (e for e in await read_dead_letters(kafka.bootstrap, kafka.dlq_topic) if e.ref == ref), None
    )
    if entry is None:
        raise NotFoundException(f"no dead letter {ref}")
    await redrive(container.broker, entry, kafka.topic)
    return Response({"redriven": ref, "event_id": entry.event_id}, status_code=202)


def _lifespan(container: Container):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await container.views.ensure_indexes()
        watcher = asyncio.create_task(watch_rebuilds(container), name="rebuild-watch")
        await container.broker.start()  # the dead-letter producer
        consumer = container.consumer
        await consumer.start()
        gauges = ProjectorGauges(
            container.lag,
            container.settings.kafka,
            read_db(container),
            webhook_dead_letters=WEBHOOK_DEAD_LETTERS,
        )
        gauges.install()  # read when /metrics is scraped
        try:
            yield
        finally:
            gauges.uninstall()
            await bounded(("consumer", consumer.stop()))
            await stop_tasks([watcher])  # bounded: a read store that hangs cannot stop us
            await close(container)

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    container = build(settings or load_settings())
    platform = PlatformPlugin(
        container.settings, container.redis, "projector", (PyMongoError, RedisError, KafkaError)
    )
    return Litestar(
        route_handlers=[
            liveness,
            status,
            list_dead_letters,
            retry_dead_letter,
            retry_stream_dead_letters,
            readiness,
            stats,
            asyncapi_json,
            asyncapi_page,
            EventHandlerController,
            ReadModelCorrectionController,
        ],
        dependencies={"container": Provide(lambda: container, sync_to_thread=False)},
        lifespan=[_lifespan(container), webhooks_lifespan(container.webhooks, container.settings)],
        plugins=[platform, RebuildPlugin()],
        request_max_body_size=platform.request_max_body_size,
    )
