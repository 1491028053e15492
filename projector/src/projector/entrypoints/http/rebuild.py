"""Rebuild over HTTP (what `projector rebuild` does, started from the console):
POST /api/v1/cqrs/projections/rebuild starts one in this process and answers 202 at
once; GET /api/v1/cqrs/projections/rebuild tells its progress (events replayed of the
total, then succeeded or failed), from any replica. One rebuild at a time: while one is
under way anywhere (the switchboard says so) a second is a 409.

`RebuildPlugin` is the one line the app factory needs: it adds both routes and stops a
rebuild still running when the app stops, before the stores close (the rebuild's own
clean-up then clears the switchboard, so live projectors stop writing to staging)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.config.app import AppConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException
from litestar.plugins import InitPluginProtocol

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import ADMIN, actor
from cqrs_read_store.announce import forget_cached
from projector.adapters.rebuild_control import RebuildControl
from projector.adapters.rebuild_progress import RebuildProgress
from projector.bootstrap import Container, make_rebuild, read_db

log = logging.getLogger("projector.rebuild")
SAVE_EVERY_SECONDS = 0.5  # progress written at most this often while replaying


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RebuildJob:
    """The rebuild this process runs, if any, and its progress document."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self._saving: asyncio.Task[None] | None = None
        self._saved_at = 0.0

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self, container: Container, by: str | None) -> dict[str, Any]:
        progress = RebuildProgress(read_db(container))
        job: dict[str, Any] = {
            "state": "running",
            "done": 0,
            "total": 0,
            "started_at": _now(),
            "finished_at": None,
            "started_by": by,
            "events": None,
            "error": None,
        }
        await progress.save(job)
        self.task = asyncio.create_task(self._run(container, progress, job), name="rebuild")
        return job

    async def _run(self, container: Container, store: RebuildProgress, job: dict[str, Any]) -> None:
        def progress(done: int, total: int) -> None:
            job.update(done=done, total=total)
            due = time.monotonic() - self._saved_at >= SAVE_EVERY_SECONDS
            if due and (self._saving is None or self._saving.done()):
                self._saved_at = time.monotonic()
                self._saving = asyncio.create_task(store.save(dict(job)))

        async def switched() -> None:
            prefix = container.settings.redis.prefix
            await forget_cached(container.redis, prefix, list(READ_MODELS))

        try:
            job["events"] = await make_rebuild(container).run(progress, switched)
            job.update(state="succeeded", done=max(job["done"], job["events"]))
        except asyncio.CancelledError:
            job.update(state="failed", error="stopped with the projector")
            raise
        except Exception as failure:
            log.exception("rebuild failed")
            job.update(state="failed", error=str(failure)[:2000] or type(failure).__name__)
        finally:
            job["finished_at"] = _now()
            if self._saving is not None:
                with contextlib.suppress(Exception):
                    await self._saving
            with contextlib.suppress(Exception):
                await store.save(dict(job))

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


@post(
    "/api/v1/cqrs/projections/rebuild",
    status_code=202,
    tags=["projections"],
    summary="Start rebuilding every read model from the event store (no downtime)",
    guards=[ADMIN],
)
async def start_rebuild(
    request: Request[Any, Any, Any],
    container: NamedDependency[Container],
    rebuild_job: NamedDependency[RebuildJob],
) -> Response[dict[str, Any]]:
    if rebuild_job.running or await RebuildControl(read_db(container)).building():
        raise ClientException("a rebuild is already under way", status_code=409)
    job = await rebuild_job.start(container, actor(request))
    return Response(job, status_code=202)


@get(
    "/api/v1/cqrs/projections/rebuild",
    tags=["projections"],
    summary="Progress of the last rebuild started over HTTP",
    guards=[ADMIN],
)
async def rebuild_progress(container: NamedDependency[Container]) -> dict[str, Any]:
    job = await RebuildProgress(read_db(container)).load()
    return job or {"state": "idle"}


class RebuildPlugin(InitPluginProtocol):
    def __init__(self) -> None:
        self.job = RebuildJob()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([start_rebuild, rebuild_progress])
        app_config.dependencies["rebuild_job"] = Provide(lambda: self.job, sync_to_thread=False)
        app_config.lifespan.append(self._lifespan)  # last in: left first, before the
        return app_config  # app's own lifespan closes the stores the rebuild still needs

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.job.stop()
