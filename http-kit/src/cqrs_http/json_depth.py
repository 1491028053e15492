"""A bound on how deeply a request body's JSON nests (`security.max_json_depth`): deeper
is a 400 in the one error shape before any handler decodes it. Recursive decoders and
encoders (msgspec, pydantic, json) would otherwise give up deep inside the request with a
RecursionError, a 500, after the work was done.

The body is read here (at most `security.max_body_bytes`; past that it is handed on for
the app's own 413) and replayed to the app. Only a body holding more brackets than the
bound is looked at closely, so an ordinary request pays one count over its bytes."""

import json
import logging
from typing import Any

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_http.logs import request_id_var

log = logging.getLogger("cqrs_http.json_depth")
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def depth_of(value: Any) -> int:
    """How deeply lists and objects nest in a decoded JSON value (a scalar: 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def too_deep(body: bytes, max_depth: int) -> bool:
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False  # cannot nest deeper than it has brackets
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        return True
    except msgspec.DecodeError:
        return False  # malformed: the handler answers its own 400
    return depth_of(value) > max_depth


def json_depth_limit(max_depth: int, max_body_bytes: int) -> Any:
    """ASGI middleware factory (HTTP requests with a body)."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
            info: dict[str, Any] = scope  # type: ignore[assignment]
            if info["type"] != "http" or info["method"] in _NO_BODY:
                await app(scope, receive, send)
                return
            chunks: list[bytes] = []
            size, complete, after = 0, False, None
            while True:
                message: Any = await receive()
                if message["type"] != "http.request":
                    after = message  # the client went away: hand that on too
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if not message.get("more_body", False):
                    complete = True
                    break
                if size > max_body_bytes:
                    break  # the app reads on and answers its own 413
            body = b"".join(chunks)
            if complete and too_deep(body, max_depth):
                await _refuse(scope, send, max_depth)
                return
            await app(scope, _replay(body, complete, after, receive), send)

        return bounded

    return middleware


def _replay(body: bytes, complete: bool, after: Any, receive: Receive) -> Receive:
    """The body read so far as one message; then whatever the client sends next."""
    more = not complete and after is None
    pending: list[Any] = [{"type": "http.request", "body": body, "more_body": more}]
    if after is not None:
        pending.append(after)

    async def replayed() -> Any:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, max_depth: int) -> None:
    message = f"the JSON body nests deeper than {max_depth} levels"
    info: dict[str, Any] = scope  # type: ignore[assignment]
    rid = request_id_var.get()
    log.info(
        "%s %s -> 400 bad_request: %s (request %s)", info["method"], info["path"], message, rid
    )
    body = json.dumps(error_body(ErrorCode.BAD_REQUEST, message, max_depth=max_depth)).encode()
    start: Any = {
        "type": "http.response.start",
        "status": 400,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
