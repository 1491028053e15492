"""Rate limits per client and per route group, counted in Redis, so every replica enforces
the same budget. Over the limit: 429 with Retry-After.

One ASGI middleware for every group, one Redis round trip per limited request: a script
that increments the client's counter for its group and starts the window (60 s) on the
first request, answering the count and the seconds left. INCR is atomic, so replicas
never lose each other's counts."""

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

from cqrs_contracts.settings import RateLimits
from cqrs_http.auth import Principal

WINDOW = 60  # seconds: the limits are per minute

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
_UNLIMITED = re.compile("|".join(f"(?:{p})" for p in UNLIMITED))

# the count so far in this window and the seconds until it resets, in one round trip
_COUNT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


def client_of(scope: Scope) -> str:
    """The token's subject, else the first X-Forwarded-For address, else the peer's."""
    user = scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.subject}"
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "127.0.0.1"


def group_of(path: str) -> str:
    for group, prefixes in GROUPS.items():
        if path.startswith(prefixes):
            return group
    return "default"


def rate_limits(limits: RateLimits, redis: Redis, prefix: str) -> list[Any]:
    """The rate-limit middleware (a list: empty when limits are off)."""
    if not limits.enabled:
        return []
    budget = {group: int(getattr(limits, group)) for group in (*GROUPS, "default")}
    count = redis.register_script(_COUNT)
    namespace = f"{prefix}:ratelimit"

    def middleware(app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"]
            if scope["type"] != ScopeType.HTTP or _UNLIMITED.match(path):
                await app(scope, receive, send)
                return
            group = group_of(path)
            most = budget[group]
            n, ttl = await count(keys=[f"{namespace}:{group}:{client_of(scope)}"], args=[WINDOW])
            headers = {
                "RateLimit-Policy": f"{most}; w={WINDOW}",
                "RateLimit-Limit": str(most),
                "RateLimit-Remaining": str(max(0, most - int(n))),
                "RateLimit-Reset": str(int(ttl)),
            }
            if int(n) > most:
                raise TooManyRequestsException(headers=headers)
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *raw]
                await send(message)

            await app(scope, receive, with_headers)

        return limited

    return [middleware]
