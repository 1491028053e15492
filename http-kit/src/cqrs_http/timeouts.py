"""A bound on every HTTP request: past it the client gets a JSON 504, the worker moves on."""

import asyncio
import json
import logging
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_http.logs import request_id_var

log = logging.getLogger("cqrs_http.timeouts")


def request_timeout(seconds: float) -> Any:
    """ASGI middleware factory (HTTP only; WebSockets live as long as they like)."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                started = True
                await send(message)

            try:
                async with asyncio.timeout(seconds):
                    await app(scope, receive, tracking_send)
            except TimeoutError:
                log.warning(
                    "%s %s -> 504 timeout: no answer within %ss (request %s)",
                    scope["method"],
                    scope["path"],
                    seconds,
                    request_id_var.get(),
                )
                if started:
                    raise
                body = json.dumps(
                    error_body(ErrorCode.TIMEOUT, f"no answer within {seconds}s")
                ).encode()
                start: Any = {
                    "type": "http.response.start",
                    "status": 504,
                    "headers": [(b"content-type", b"application/json")],
                }
                end: Any = {"type": "http.response.body", "body": body, "more_body": False}
                await send(start)
                await send(end)

        return bounded

    return middleware
