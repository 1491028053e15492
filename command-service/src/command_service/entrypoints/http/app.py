"""The command-service Litestar app: `create_app()` is the Granian factory target."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.errors import KafkaError
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy.exc import OperationalError

from command_service.adapters.log_reader import BadCursorError
from command_service.adapters.metrics import OutboxGauges
from command_service.bootstrap import Container, build
from command_service.entrypoints.http.commands import CommandController
from command_service.entrypoints.http.events import EventController
from command_service.entrypoints.http.handlers import CommandHandlerController
from command_service.entrypoints.http.health import liveness, readiness
from command_service.entrypoints.http.operations import cleanup, stats
from command_service.migrations import upgrade_to_head
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.settings import Settings, load_settings
from cqrs_event_store.shard_routers import shard_urls
from cqrs_http.errors import error_response
from cqrs_http.platform import PlatformPlugin
from cqrs_http.shutdown import bounded, stop_tasks

log = logging.getLogger("command_service")


async def _cleanup_every(container: Container) -> None:
    """Retention on a timer (`cqrs.cleanup_interval`), as POST /cleanup does on demand."""
    while True:
        await asyncio.sleep(container.settings.cqrs.cleanup_interval)
        try:
            removed = await container.retention.run()
        except Exception:
            log.exception("scheduled cleanup failed")
        else:
            log.info("scheduled cleanup: %s", removed)


def _lifespan(container: Container):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings = container.settings
        if settings.command_service.migrate_on_start:
            for url in shard_urls(settings.database.mysql):
                await asyncio.to_thread(upgrade_to_head, url)
        await container.broker.connect()
        with contextlib.suppress(Exception):  # else the refresh task retries and logs
            await container.handlers.refresh()
        tasks = [
            asyncio.create_task(_cleanup_every(container), name="retention"),
            asyncio.create_task(container.handlers.run(), name="command-handlers"),
        ]
        if settings.command_service.relay_enabled:
            tasks.append(asyncio.create_task(container.run_relays(), name="outbox-relays"))
        gauges = OutboxGauges(container.engines)  # read when /metrics is scraped
        gauges.install()
        try:
            yield
        finally:
            gauges.uninstall()
            await stop_tasks(tasks)
            await bounded(
                ("kafka", container.broker.stop()),
                *((f"mysql shard {s.number}", s.engine.dispose()) for s in container.shards),
                ("mysql replicas", container.replicas.close()),
                ("redis", container.redis.aclose()),
            )

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    container = build(settings or load_settings())
    platform = PlatformPlugin(
        container.settings, container.redis, "command-service", (OperationalError, KafkaError)
    )
    return Litestar(
        route_handlers=[
            CommandController,
            EventController,
            CommandHandlerController,
            liveness,
            readiness,
            stats,
            cleanup,
        ],
        dependencies={
            "container": Provide(lambda: container, sync_to_thread=False),
            "commands": Provide(lambda: container.commands, sync_to_thread=False),
            "importer": Provide(lambda: container.importer, sync_to_thread=False),
            "reader": Provide(lambda: container.reader, sync_to_thread=False),
            "registry": Provide(lambda: container.handlers, sync_to_thread=False),
        },
        lifespan=[_lifespan(container)],
        exception_handlers={
            BadCursorError: lambda _, exc: error_response(400, ErrorCode.BAD_REQUEST, str(exc))
        },
        openapi_config=OpenAPIConfig(title="CQRS command-service", version="1.0.0"),
        plugins=[platform],
        request_max_body_size=platform.request_max_body_size,
    )
