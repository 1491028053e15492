"""Sends webhook requests with one pooled httpx client: bounded time per request, no
redirects followed (a 3xx is a failure), anything but 2xx is a failed attempt."""

import httpcore
import httpx

from projector.webhooks.adapters.targets import GuardedBackend, TargetPolicy
from projector.webhooks.application.delivery import DeliveryFailedError

MAX_CONNECTIONS = 100


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose every connection the policy checks."""

    def __init__(self, policy: TargetPolicy) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=MAX_CONNECTIONS,
            network_backend=GuardedBackend(policy),
        )


class HttpSender:
    def __init__(self, timeout: float, policy: TargetPolicy) -> None:
        self.policy = policy  # also checked at registration
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=_GuardedTransport(policy),
            headers={"User-Agent": "cqrs-projector-webhooks"},
            trust_env=False,  # no proxy from the environment between us and the check
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailedError(f"{type(error).__name__}: {error}"[:500]) from error
        if not response.is_success:
            raise DeliveryFailedError(f"HTTP {response.status_code}: {response.text[:300]}")

    async def close(self) -> None:
        await self._client.aclose()
