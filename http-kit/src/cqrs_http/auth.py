"""JWT bearer authentication (Litestar's JWTAuth) and role guards.

Roles are ordered: admin can do what a writer can, a writer what a reader can. Tokens
carry them in a `roles` claim; expiry, issuer and audience are checked. With
`security.auth_enabled: false` (local runs) nothing is required and every guard passes."""

from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token
from litestar.types import Guard

from cqrs_contracts.settings import SecuritySettings

ROLES = ("reader", "writer", "admin")
PUBLIC_PATHS = [
    "^/health$",
    "^/api/v1/cqrs/health$",
    "^/api/v1/cqrs/system/health$",
    "^/schema",
    "^/asyncapi",
    "^/metrics$",
]


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def can(self, role: str) -> bool:
        rank = ROLES.index(role)
        return any(r in ROLES and ROLES.index(r) >= rank for r in self.roles)


async def _principal(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    roles = token.extras.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    return Principal(subject=token.sub, roles=frozenset(str(r) for r in roles))


def jwt_auth(security: SecuritySettings) -> JWTAuth[Principal, Token] | None:
    if not security.auth_enabled:
        return None
    key = (
        security.jwt_public_key
        if security.jwt_algorithm.startswith(("RS", "ES"))
        else security.jwt_secret
    )
    return JWTAuth[Principal, Token](
        retrieve_user_handler=_principal,
        token_secret=key,
        algorithm=security.jwt_algorithm,
        accepted_issuers=[security.jwt_issuer],
        accepted_audiences=[security.jwt_audience],
        require_claims=["exp", "sub"],
        exclude=PUBLIC_PATHS,
    )


def requires(role: str) -> Guard:
    """A guard letting through callers holding `role` (or a higher one). Whether auth is
    on comes from the app (`app.state.auth_enabled`, set by `cqrs_http.platform`)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    # async: Litestar runs a sync guard in a worker thread (sync_to_thread), a thread hop
    # on every request for what is a dict lookup
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not connection.app.state.get("auth_enabled", False):
            return
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException("a bearer token is required")
        if not user.can(role):
            raise PermissionDeniedException(f"this needs the {role} role")

    return guard


READER, WRITER, ADMIN = (requires(r) for r in ROLES)


def actor(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Who is calling: the token's subject, else the X-Actor header (auth off)."""
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user.subject
    return connection.headers.get("x-actor")
