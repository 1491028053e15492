"""Bearer tokens as the platform's issuer makes them, and broken ones."""

import time
from typing import Any

import jwt

from cqrs_contracts.settings import Settings

ROLES = ("reader", "writer", "admin")


def token(
    settings: Settings,
    roles: list[str],
    *,
    expires_in: float = 600,
    secret: str | None = None,
    **claims: Any,
) -> str:
    """A bearer token as the platform's issuer makes them; `claims` override any field."""
    security = settings.security
    body = {
        "sub": "-".join(roles) or "nobody",
        "roles": roles,
        "iss": security.jwt_issuer,
        "aud": security.jwt_audience,
        "iat": int(time.time()),
        "exp": int(time.time() + expires_in),
        **claims,
    }
    return jwt.encode(body, secret or security.jwt_secret, algorithm="HS256")


def identities(settings: Settings) -> dict[str, str | None]:
    """Every caller the matrix tries: none, four broken tokens (each with the admin role, so
    only the broken part can be why it fails), and one token per role."""
    return {
        "no token": None,
        "expired": token(settings, ["admin"], expires_in=-120),
        "wrong audience": token(settings, ["admin"], aud="some-other-api"),
        "wrong issuer": token(settings, ["admin"], iss="someone-else"),
        "bad signature": token(settings, ["admin"], secret="not-the-platform-secret"),
        **{role: token(settings, [role]) for role in ROLES},
    }


def bearer(value: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"} if value else {}
