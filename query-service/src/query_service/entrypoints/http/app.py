"""The query-service Litestar app: `create_app()` is the Granian factory target."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from cqrs_contracts.settings import Settings, load_settings
from cqrs_http.platform import PlatformPlugin
from cqrs_http.shutdown import bounded, stop_tasks
from query_service.bootstrap import Container, build
from query_service.entrypoints.http.handlers import QueryHandlerController
from query_service.entrypoints.http.health import cleanup, liveness, readiness, stats
from query_service.entrypoints.http.live import BACKLOG, live_updates
from query_service.entrypoints.http.queries import QueryController
from query_service.entrypoints.http.read_models import ReadModelController
from query_service.entrypoints.http.system import system_health, system_stats


async def _trim_every(container: Container) -> None:
    while True:
        await asyncio.sleep(container.settings.cqrs.cleanup_interval)
        with contextlib.suppress(Exception):
            await container.query_log.trim()


def _lifespan(container: Container):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await container.query_log.ensure_indexes()
        with contextlib.suppress(Exception):  # else the refresh task retries and logs
            await container.handler_store.ensure_indexes()
            await container.handlers.refresh()
        container.query_log.start()
        trimmer = asyncio.create_task(_trim_every(container), name="query-log-retention")
        handlers = asyncio.create_task(container.handlers.run(), name="query-handlers")
        try:
            yield
        finally:
            await stop_tasks([trimmer, handlers])
            await container.query_log.close(container.settings.query_service.log_shutdown_timeout)
            await bounded(
                ("redis", container.redis.aclose()),
                ("mongo", container.mongo.close()),
                ("mysql", container.history.close()),
            )

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    container = build(settings or load_settings())
    channels = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=container.redis),
        arbitrary_channels_allowed=True,
        create_ws_route_handlers=False,
        subscriber_max_backlog=BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
    platform = PlatformPlugin(
        container.settings, container.redis, "query-service", (PyMongoError, RedisError)
    )
    return Litestar(
        route_handlers=[
            QueryController,
            ReadModelController,
            QueryHandlerController,
            live_updates,
            liveness,
            readiness,
            stats,
            cleanup,
            system_health,
            system_stats,
        ],
        dependencies={
            "container": Provide(lambda: container, sync_to_thread=False),
            "queries": Provide(lambda: container.queries, sync_to_thread=False),
            "query_log": Provide(lambda: container.query_log, sync_to_thread=False),
            "registry": Provide(lambda: container.handlers, sync_to_thread=False),
        },
        plugins=[platform, channels],
        request_max_body_size=platform.request_max_body_size,
        lifespan=[_lifespan(container)],
        openapi_config=OpenAPIConfig(title="CQRS query-service", version="1.0.0"),
    )
