"""Rate limits per client and per route group, counted in Redis, so every replica enforces
the same budget. Over the limit: 429 with Retry-After.

One ASGI middleware for every group, one Redis round trip per limited request: a script
that increments the client's counter for its group and starts the window (60 s) on the
first request, answering the count and the seconds left. INCR is atomic, so replicas
never lose each other's counts."""

import re
from functools import cache
from ipaddress import ip_address, ip_network
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

from cqrs_contracts.settings import SecuritySettings
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


class TrustedProxies:
    """The proxies whose forwarding headers are believed (`security.trusted_proxies`)."""

    def __init__(self, entries: list[str]) -> None:
        self._networks = [ip_network(e.strip(), strict=False) for e in entries if e.strip()]

    def __contains__(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_address(self, scope: Scope) -> str:
        """The address of the client: the peer, unless the peer is a trusted proxy; then
        the right-most X-Forwarded-For hop that is not a trusted proxy (what the first
        trusted proxy saw; hops to its left are written by the client and ignored),
        else X-Real-IP (our gateway sets it), else the peer."""
        client = scope.get("client")
        peer = client[0] if client else ""
        if peer not in self:
            return peer or "unknown"
        forwarded: list[str] = []
        real = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded += [h.strip() for h in value.decode("latin-1").split(",")]
            elif name == b"x-real-ip":
                real = value.decode("latin-1").strip()
        for hop in reversed(forwarded):
            if hop and hop not in self:
                return hop
        return real or peer


@cache
def trusted_proxies(entries: tuple[str, ...]) -> TrustedProxies:
    """One parsed set per configured list (asked per request or connection)."""
    return TrustedProxies(list(entries))


def client_of(scope: Scope, proxies: TrustedProxies) -> str:
    """Whose budget a request counts against: the token's subject, else its address."""
    user = scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.subject}"
    return proxies.client_address(scope)


def group_of(path: str) -> str:
    for group, prefixes in GROUPS.items():
        if path.startswith(prefixes):
            return group
    return "default"


def rate_limits(security: SecuritySettings, redis: Redis, prefix: str) -> list[Any]:
    """The rate-limit middleware (a list: empty when limits are off)."""
    limits = security.rate_limits
    proxies = trusted_proxies(tuple(security.trusted_proxies))
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
            n, ttl = await count(
                keys=[f"{namespace}:{group}:{client_of(scope, proxies)}"], args=[WINDOW]
            )
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
