"""Rate limits per client and per route group, counted in Redis (Litestar's RateLimit
middleware on a RedisStore), so every replica enforces the same budget. Over the limit:
429 with Retry-After."""

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address

from cqrs_contracts.settings import RateLimits
from cqrs_http.auth import Principal

STORE = "rate_limit"

# route group -> the path prefixes in it
GROUPS: dict[str, tuple[str, ...]] = {
    "commands": ("/api/v1/cqrs/commands",),
    "queries": ("/api/v1/cqrs/queries", "/api/v1/cqrs/read-models", "/ws"),
    "admin": (
        "/api/v1/cqrs/events",
        "/api/v1/cqrs/handlers",
        "/api/v1/cqrs/projections",
        "/api/v1/cqrs/cleanup",
    ),
}
UNLIMITED = [
    "^/health$",
    "^/api/v1/cqrs/health$",
    "^/api/v1/cqrs/system/health$",
    "^/metrics$",
    "^/schema",
    "^/asyncapi",
]


def client_of(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.subject}"
    forwarded = request.headers.get("x-forwarded-for")
    return forwarded.split(",")[0].strip() if forwarded else get_remote_address(request)


def _identifier(group: str) -> Any:
    return lambda request: f"{group}:{client_of(request)}"


def group_of(path: str) -> str:
    for group, prefixes in GROUPS.items():
        if path.startswith(prefixes):
            return group
    return "default"


def rate_limits(limits: RateLimits) -> list[RateLimitConfig]:
    """One Litestar rate limit per route group; each checks only its own paths."""
    if not limits.enabled:
        return []
    return [
        RateLimitConfig(
            rate_limit=("minute", getattr(limits, group)),
            exclude=UNLIMITED,
            identifier_for_request=_identifier(group),
            check_throttle_handler=_in_group(group),
            store=STORE,
        )
        for group in (*GROUPS, "default")
    ]


def _in_group(group: str) -> Any:
    async def check(request: Request[Any, Any, Any]) -> bool:
        return group_of(request.url.path) == group

    return check
