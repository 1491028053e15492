"""Freshness: time from a command's 2xx to its change arriving on the WebSocket (which
the projector sends only after the read model is stored), at a steady command rate, split
by stage with the timestamps the change carries (`ChangeNotification.timings`, epoch ms):
2xx received -> Kafka record timestamp -> projector received -> stored -> frame received.

A Python sender is enough here: it is a latency test at fixed rates, not a throughput one;
it keeps the rate on an absolute schedule (at most MAX_IN_FLIGHT unanswered commands, a
command due beyond that is skipped and counted) and reports the rate it achieved."""

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import websockets

from tests.bench.load import percentile

MAX_IN_FLIGHT = 64
DRAIN_SECONDS = 30  # the longest we wait for the last frames after the sender stops
# stage name -> (from, to): the keys of the merged timestamps of one command
STAGES = {
    "2xx -> kafka record": ("accepted", "kafka"),
    "kafka -> projector received": ("kafka", "received"),
    "received -> stored": ("received", "stored"),
    "stored -> ws frame": ("stored", "frame"),
    "end-to-end (2xx -> ws frame)": ("accepted", "frame"),
}
MISSING = "timings missing"


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


def split(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Per stage p50/p99 (ms) over the commands whose timestamps name both ends; a stage
    no sample can measure is reported as MISSING, never guessed."""
    out: dict[str, Any] = {}
    for stage, (start, end) in STAGES.items():
        spans = [s[end] - s[start] for s in samples if start in s and end in s]
        if not spans:
            out[stage] = MISSING
        else:
            out[stage] = {
                "p50_ms": round(percentile(spans, 0.5), 2),
                "p99_ms": round(percentile(spans, 0.99), 2),
                "n": len(spans),
            }
    return out


def merge(accepted_ms: float, frame_ms: float, timings: object) -> dict[str, float]:
    """One command's timestamps: ours (accepted, frame) and the frame's `timings`."""
    merged = {"accepted": accepted_ms, "frame": frame_ms}
    if isinstance(timings, dict):
        for key in ("kafka", "received", "stored"):
            value = timings.get(key)
            if isinstance(value, int | float):
                merged[key] = float(value)
    return merged


async def measure(
    command_url: str, query_ws_url: str, rate: float, seconds: float
) -> dict[str, Any]:
    accepted: dict[str, float] = {}  # aggregate id -> epoch ms the 2xx arrived
    frames: dict[str, tuple[float, object]] = {}  # aggregate id -> (epoch ms, timings)
    skipped = failed = 0
    async with websockets.connect(f"{query_ws_url}/ws?subscribe=UserReadModel") as ws:
        await ws.recv()  # the subscription confirmation

        async def listen() -> None:
            async for raw in ws:
                at = time.time() * 1000
                note = json.loads(raw)
                if note.get("read_model") == "UserReadModel" and note.get("version") == 1:
                    frames.setdefault(note["id"], (at, note.get("timings")))

        listener = asyncio.create_task(listen())
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(base_url=command_url, timeout=30, limits=limits) as client:

            async def one() -> None:
                nonlocal failed
                body = {"name": "Fresh", "email": f"f-{uuid.uuid4().hex[:10]}@bench.io", "age": 33}
                try:
                    answer = await client.post(
                        "/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
                    )
                except httpx.HTTPError:
                    failed += 1
                    return
                if answer.status_code == 200:
                    accepted[answer.json()["aggregate_id"]] = time.time() * 1000
                else:
                    failed += 1

            pending: set[asyncio.Task[None]] = set()
            sent = 0
            started = time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds:
                while sent < int(elapsed * rate):
                    sent += 1
                    if len(pending) >= MAX_IN_FLIGHT:
                        skipped += 1
                        continue
                    task = asyncio.create_task(one())
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.sleep(0.002)
            await asyncio.gather(*pending)
            sending = time.perf_counter() - started
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline and not all(uid in frames for uid in accepted):
            await asyncio.sleep(0.05)
        listener.cancel()
    samples = [merge(t, *frames[uid]) for uid, t in accepted.items() if uid in frames]
    return {
        "target_rate": rate,
        "achieved_rate": round(len(accepted) / sending, 1) if sending else 0.0,
        "commands": len(accepted),
        "failed": failed,
        "skipped": skipped,
        "seen": len(samples),
        "stages": split(samples),
    }
