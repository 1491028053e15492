"""A browser's WebSocket API cannot set an Authorization header, so a WebSocket may carry
its bearer token as a subprotocol instead: `new WebSocket(url, ["bearer", token])` sends
`Sec-WebSocket-Protocol: bearer, <token>`. Before authentication runs, that becomes the
request's `Authorization: Bearer <token>`, so one check (JWTAuth) covers both; the
service answers the handshake with the `bearer` subprotocol (`accepted_subprotocol`).
The token never appears in a URL, so never in an access log."""

from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

SUBPROTOCOL = "bearer"
_AUTHORIZATION = b"authorization"
_PROTOCOLS = b"sec-websocket-protocol"


def offered_subprotocols(scope: Scope) -> list[str]:
    offered: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == _PROTOCOLS:
            offered += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    return offered


def accepted_subprotocol(scope: Scope) -> str | None:
    """The subprotocol to answer the handshake with: `bearer` when the client offered it."""
    return SUBPROTOCOL if SUBPROTOCOL in offered_subprotocols(scope) else None


def token_from_subprotocol(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            headers = list(scope.get("headers", ()))
            if not any(name == _AUTHORIZATION for name, _ in headers):
                offered = offered_subprotocols(scope)
                if SUBPROTOCOL in offered and offered.index(SUBPROTOCOL) + 1 < len(offered):
                    token = offered[offered.index(SUBPROTOCOL) + 1]
                    headers.append((_AUTHORIZATION, f"Bearer {token}".encode("latin-1")))
                    info: dict[str, Any] = scope  # type: ignore[assignment]
                    scope = {**info, "headers": headers}  # type: ignore[assignment]
        await app(scope, receive, send)

    middleware.ws_token = True  # type: ignore[attr-defined]
    return middleware


def install() -> Any:
    """An on_startup hook that puts `token_from_subprotocol` around the whole app (once)."""

    def hook(app: Litestar) -> None:
        if not getattr(app.asgi_handler, "ws_token", False):
            app.asgi_handler = token_from_subprotocol(app.asgi_handler)

    return hook
