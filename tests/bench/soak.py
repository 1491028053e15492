"""Soak: BENCH_SOAK_SECONDS (default 600) of mixed load (commands and queries at a
steady rate) with each service process's memory and open sockets sampled every
SAMPLE_SECONDS; reports the growth from the first sample to the last."""

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.bench.system import BenchSystem

SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "600"))
SAMPLE_SECONDS = 10.0
COMMANDS_PER_SECOND = 20
QUERIES_PER_SECOND = 100


def _group(leader: int) -> list[int]:
    """The leader and every process in its process group (Granian's workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # field 5 of stat: the process group id
            pids.append(int(entry.name))
    return pids


def sample(leader: int) -> dict[str, float]:
    rss_kb, sockets, fds = 0, 0, 0
    for pid in _group(leader):
        try:
            status = (Path(f"/proc/{pid}/status")).read_text()
            rss_kb += int(
                next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
            )
            links = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
        except (OSError, StopIteration):
            continue
        fds += len(links)
        sockets += sum(link.startswith("socket:") for link in links)
    return {"rss_mb": rss_kb / 1024, "fds": fds, "sockets": sockets}


async def _steady(rate: float, until: float, call: Any) -> int:
    sent, started = 0, time.perf_counter()
    pending: set[asyncio.Task[None]] = set()
    while time.perf_counter() < until:
        due = int((time.perf_counter() - started) * rate)
        while sent < due:
            task = asyncio.create_task(call(sent))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*pending, return_exceptions=True)
    return sent


async def run(system: BenchSystem, urls: dict[str, str]) -> list[dict[str, Any]]:
    until = time.perf_counter() + SECONDS
    users: list[str] = []
    errors = 0
    async with httpx.AsyncClient(timeout=30) as client:

        async def command(i: int) -> None:
            nonlocal errors
            if users and i % 2:
                body = {
                    "type": "UpdateUser",
                    "data": {"id": users[i % len(users)], "age": 20 + i % 50},
                }
            else:
                email = f"soak-{uuid.uuid4().hex[:12]}@bench.io"
                body = {"type": "CreateUser", "data": {"name": "Soak", "email": email, "age": 30}}
            answer = await client.post(f"{urls['commands']}/api/v1/cqrs/commands", json=body)
            errors += answer.status_code != 200
            if answer.status_code == 200 and body["type"] == "CreateUser":
                users.append(answer.json()["aggregate_id"])

        async def query(i: int) -> None:
            nonlocal errors
            if not users:
                return
            body = {"type": "GetUser", "data": {"id": users[i % len(users)]}}
            if i % 5 == 0:
                body = {"type": "ListUsers", "data": {"limit": 20}}
            answer = await client.post(f"{urls['cached']}/api/v1/cqrs/queries", json=body)
            errors += answer.status_code not in (200, 404)

        samples: dict[str, list[dict[str, float]]] = {}

        async def sampler() -> None:
            while time.perf_counter() < until:
                for process in system.processes:
                    if process.proc is not None:
                        name = f"{process.script}:{process.port}"
                        samples.setdefault(name, []).append(sample(process.proc.pid))
                await asyncio.sleep(SAMPLE_SECONDS)

        sent = await asyncio.gather(
            _steady(COMMANDS_PER_SECOND, until, command),
            _steady(QUERIES_PER_SECOND, until, query),
            sampler(),
        )
    rows = []
    print(f"soak: {SECONDS:.0f} s, {sent[0]} commands, {sent[1]} queries, {errors} errors")
    for name, series in samples.items():
        first, last = series[0], series[-1]
        growth = (
            (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"] * 100 if first["rss_mb"] else 0
        )
        print(
            f"  {name:<28} rss {first['rss_mb']:7.1f} -> {last['rss_mb']:7.1f} MB ({growth:+.1f}%)"
            f"  sockets {first['sockets']:.0f} -> {last['sockets']:.0f}"
            f"  fds {first['fds']:.0f} -> {last['fds']:.0f}"
        )
        rows.append(
            {
                "scenario": f"soak: {name}",
                "seconds": SECONDS,
                "rss_first_mb": round(first["rss_mb"], 1),
                "rss_last_mb": round(last["rss_mb"], 1),
                "rss_growth_pct": round(growth, 1),
                "sockets_first": first["sockets"],
                "sockets_last": last["sockets"],
                "fds_first": first["fds"],
                "fds_last": last["fds"],
                "errors": errors,
            }
        )
    return rows
