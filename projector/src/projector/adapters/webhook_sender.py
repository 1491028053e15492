"""Sends webhook requests with one pooled httpx client: bounded time per request, no
redirects followed (a 3xx is a failure), anything but 2xx is a failed attempt."""

import httpx

from projector.application.webhook_delivery import DeliveryFailedError

MAX_CONNECTIONS = 100


class HttpSender:
    def __init__(self, timeout: float) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            headers={"User-Agent": "cqrs-projector-webhooks"},
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
