"""Asks every instance of every service (`system.services`) for one page, all at once,
each within a bound: an instance that does not answer in time is reported, not waited on."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Reply:
    service: str  # command, projector, query, ...
    url: str
    status_code: int | None  # None: no answer
    body: dict[str, Any] | None
    error: str | None
    latency_ms: float


async def _ask(
    client: httpx.AsyncClient, service: str, base: str, path: str, headers: dict[str, str]
) -> Reply:
    started = time.perf_counter()
    try:
        answer = await client.get(base.rstrip("/") + path, headers=headers)
        body = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        took = round((time.perf_counter() - started) * 1000, 1)
        return Reply(service, base, None, None, f"{type(error).__name__}: {error}"[:300], took)
    took = round((time.perf_counter() - started) * 1000, 1)
    return Reply(
        service, base, answer.status_code, body if isinstance(body, dict) else None, None, took
    )


async def ask_all(
    services: dict[str, list[str]], path: str, timeout_s: float, headers: dict[str, str]
) -> list[Reply]:
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return list(
            await asyncio.gather(
                *(
                    _ask(client, service, url, path, headers)
                    for service, urls in services.items()
                    for url in urls
                )
            )
        )
