"""The query-service Litestar app: `create_app()` is the Granian factory target."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_contracts.settings import Settings, load_settings
from query_service.adapters.documents import init_documents
from query_service.bootstrap import Container, build
from query_service.entrypoints.http.health import liveness, readiness, stats
from query_service.entrypoints.http.live import live_updates
from query_service.entrypoints.http.queries import QueryController
from query_service.entrypoints.http.read_models import ReadModelController

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
}


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    details = {"fields": exc.extra} if isinstance(exc, ValidationException) and exc.extra else {}
    return Response(
        error_body(_CODES.get(exc.status_code, "bad_request"), str(exc.detail), **details),
        status_code=exc.status_code,
    )


def on_dependency_down(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response(
        error_body(ErrorCode.DEPENDENCY_UNAVAILABLE, "a dependency is unavailable; retry"),
        status_code=503,
    )


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    import logging

    logging.getLogger("query_service.http").exception("unhandled error")
    return Response(
        error_body(ErrorCode.INTERNAL, "internal error; see the service log"), status_code=500
    )


def _lifespan(container: Container):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await init_documents(container.db)
        await container.queries.log.ensure_indexes()
        try:
            yield
        finally:
            await container.redis.aclose()
            await container.mongo.close()

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    container = build(settings or load_settings())
    channels = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=container.redis),
        arbitrary_channels_allowed=True,
        create_ws_route_handlers=False,
    )
    return Litestar(
        route_handlers=[
            QueryController,
            ReadModelController,
            live_updates,
            liveness,
            readiness,
            stats,
        ],
        dependencies={
            "container": Provide(lambda: container, sync_to_thread=False),
            "queries": Provide(lambda: container.queries, sync_to_thread=False),
            "query_log": Provide(lambda: container.queries.log, sync_to_thread=False),
        },
        plugins=[channels],
        exception_handlers={
            HTTPException: on_http_error,
            PyMongoError: on_dependency_down,
            RedisError: on_dependency_down,
            Exception: on_unexpected,
        },
        lifespan=[_lifespan(container)],
        openapi_config=OpenAPIConfig(title="CQRS query-service", version="1.0.0"),
        request_max_body_size=1024 * 1024,
    )
