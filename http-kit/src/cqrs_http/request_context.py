"""Each request's id: the gateway's X-Request-ID when it is a sane token, else a new one;
echoed on the response, bound to every log line the request causes, and named in one
access log line (method, path, status, duration).

It wraps the whole app (`app.asgi_handler`, at startup), outside routing, CORS and every
middleware, so unknown routes, rate-limited and timed-out requests get an id too."""

import logging
import re
import time
import uuid
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cqrs_http.logs import command_id_var, request_id_var, trace_id

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access = logging.getLogger("cqrs_http.access")


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == HEADER and _SANE.match(value):
            return value.decode()
    return uuid.uuid4().hex


def request_context(app: ASGIApp, access_log: bool = True) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        info: dict[str, Any] = scope  # type: ignore[assignment]
        if info["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        info.setdefault("state", {})["request_id"] = rid
        tokens = request_id_var.set(rid), command_id_var.set(None)
        status, trace = 0, None

        async def send_with_id(message: Message) -> None:
            nonlocal status, trace
            if message["type"] == "http.response.start":
                status, trace = message["status"], trace_id()  # inside the request's span
                headers = [h for h in message.get("headers") or [] if h[0].lower() != HEADER]
                start: Any = {**message, "headers": [*headers, (HEADER, rid.encode())]}
                message = start
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, send_with_id)
        finally:
            if access_log and info["type"] == "http":
                took = round((time.perf_counter() - started) * 1000, 2)
                access.info(
                    "%s %s %s %sms",
                    info["method"],
                    info["path"],
                    status or "-",
                    took,
                    extra={
                        "method": info["method"],
                        "path": info["path"],
                        "status": status or None,
                        "duration_ms": took,
                        "trace_id": trace,
                    },
                )
            request_id_var.reset(tokens[0])
            command_id_var.reset(tokens[1])

    middleware.request_context = True  # type: ignore[attr-defined]
    return middleware


def install(access_log: bool) -> Any:
    """An on_startup hook that puts `request_context` around the whole app (once)."""

    def hook(app: Litestar) -> None:
        if not getattr(app.asgi_handler, "request_context", False):
            app.asgi_handler = request_context(app.asgi_handler, access_log)

    return hook
