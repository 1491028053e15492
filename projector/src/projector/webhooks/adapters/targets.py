"""Where webhooks may be delivered: never, by default, to this host or its neighbours.

A receiver URL whose host resolves to a loopback, link-local (cloud metadata), private,
multicast, reserved or unspecified address is refused, at registration and again at every
connection, after DNS resolution and on the very address connected to (the check lives in
the HTTP client's network backend), so a DNS answer that changes after registration cannot
slip a delivery to 127.0.0.1:3306. `webhooks.allowed_hosts` names receivers an operator
permits anyway: host names, addresses or CIDR ranges."""

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

import httpcore


class ForbiddenTargetError(Exception):
    """The receiver is an internal address and not in `webhooks.allowed_hosts`."""


Address = IPv4Address | IPv6Address


def _internal(ip: Address) -> bool:
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class TargetPolicy:
    def __init__(self, allowed_hosts: list[str]) -> None:
        self._names: set[str] = set()
        self._networks = []
        for entry in (e.strip().lower() for e in allowed_hosts):
            if not entry:
                continue
            try:
                self._networks.append(ip_network(entry, strict=False))
            except ValueError:
                self._names.add(entry.rstrip("."))

    def allows(self, host: str, ip: Address) -> bool:
        if host.lower().rstrip(".") in self._names or any(ip in n for n in self._networks):
            return True
        return not _internal(ip)

    async def resolve(self, host: str, port: int) -> str:
        """The address to connect to; ForbiddenTargetError when the host resolves to an
        internal address (any of its addresses: the connection may use any)."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise ForbiddenTargetError(f"{host} does not resolve")
        addresses = [ip_address(info[4][0]) for info in infos]
        forbidden = [str(a) for a in addresses if not self.allows(host, a)]
        if forbidden:
            raise ForbiddenTargetError(
                f"{host} resolves to an internal address ({', '.join(forbidden)}); "
                "add it to webhooks.allowed_hosts to deliver there"
            )
        return str(addresses[0])

    async def check_url(self, url: str) -> None:
        """Raises ForbiddenTargetError for a receiver that would be refused at delivery."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise ForbiddenTargetError("the URL names no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await self.resolve(parts.hostname, port)
        except OSError as unresolved:
            raise ForbiddenTargetError(f"{parts.hostname} does not resolve") from unresolved


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows (TLS
    still names the URL's host: httpcore sends it as SNI and checks the certificate)."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await self._policy.resolve(host, port)
        except ForbiddenTargetError as refused:
            raise httpcore.ConnectError(str(refused)) from refused
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never delivered to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
