"""Freshness: time from a command's 2xx to its change arriving on the WebSocket (which
the projector sends only after the read model is stored), at a steady command rate."""

import asyncio
import json
import time
import uuid

import httpx
import websockets

from tests.bench.load import percentile


async def caught_up(command_url: str, query_url: str, limit_s: float = 300) -> float:
    """Seconds until the read models reflect a command sent now (the projector's backlog)."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        body = {"name": "Marker", "email": f"m-{uuid.uuid4().hex[:10]}@bench.io", "age": 33}
        answer = await client.post(
            f"{command_url}/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
        )
        token, uid = answer.json()["consistency_token"], answer.json()["aggregate_id"]
        while time.perf_counter() - started < limit_s:
            shown = await client.post(
                f"{query_url}/api/v1/cqrs/queries",
                json={"type": "GetUser", "data": {"id": uid}},
                headers={"X-Consistency-Token": token},
            )
            if shown.status_code == 200:
                break
    return time.perf_counter() - started


async def measure(
    command_url: str, query_ws_url: str, rate: float, seconds: float
) -> dict[str, float]:
    accepted: dict[str, float] = {}
    seen: dict[str, float] = {}
    async with websockets.connect(f"{query_ws_url}/ws?subscribe=UserReadModel") as ws:
        await ws.recv()  # the subscription confirmation

        async def listen() -> None:
            async for raw in ws:
                note = json.loads(raw)
                if note.get("read_model") == "UserReadModel" and note.get("version") == 1:
                    seen.setdefault(note["id"], time.perf_counter())

        listener = asyncio.create_task(listen())
        async with httpx.AsyncClient(base_url=command_url, timeout=30) as client:

            async def one() -> None:
                body = {"name": "Fresh", "email": f"f-{uuid.uuid4().hex[:10]}@bench.io", "age": 33}
                answer = await client.post(
                    "/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
                )
                if answer.status_code == 200:
                    accepted[answer.json()["aggregate_id"]] = time.perf_counter()

            sends = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                sends.append(asyncio.create_task(one()))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*sends)
        for _ in range(100):  # let the last notifications arrive (bounded)
            if all(uid in seen for uid in accepted):
                break
            await asyncio.sleep(0.05)
        listener.cancel()
    lags = [(seen[uid] - t) * 1000 for uid, t in accepted.items() if uid in seen]
    return {
        "commands": len(accepted),
        "seen": len(lags),
        "p50_ms": percentile(lags, 0.5),
        "p99_ms": percentile(lags, 0.99),
    }
