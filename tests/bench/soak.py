"""Soak: BENCH_SOAK_SECONDS (default 600) of mixed load (commands and queries at a
steady rate) with each service process's memory, open sockets and asyncio tasks (its
/api/v1/cqrs/stats) sampled every SAMPLE_SECONDS, and the query-service's query-log
buffer; reports the growth from the first sample after WARM_UP_SECONDS to the last, and
the buffer's high-water mark against its bound."""

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.bench.system import BenchSystem

SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "600"))
SAMPLE_SECONDS = 10.0
WARM_UP_SECONDS = float(os.environ.get("BENCH_SOAK_WARM_UP_SECONDS", "60"))
COMMANDS_PER_SECOND = 20
QUERIES_PER_SECOND = 50
MAX_IN_FLIGHT = 64  # a call due while this many are unanswered is skipped and counted


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


@dataclass
class Tally:
    sent: int = 0
    skipped: int = 0  # due while MAX_IN_FLIGHT calls were unanswered: the system fell behind
    failed: int = 0  # an error status or a transport error


async def _steady(rate: float, until: float, call: Any) -> Tally:
    tally, due_so_far, started = Tally(), 0, time.perf_counter()
    pending: set[asyncio.Task[None]] = set()

    async def guarded(i: int) -> None:
        try:
            if not await call(i):
                tally.failed += 1
        except httpx.HTTPError:
            tally.failed += 1

    while time.perf_counter() < until:
        due = int((time.perf_counter() - started) * rate)
        while due_so_far < due:
            due_so_far += 1
            if len(pending) >= MAX_IN_FLIGHT:
                tally.skipped += 1
                continue
            task = asyncio.create_task(guarded(due_so_far))
            pending.add(task)
            task.add_done_callback(pending.discard)
            tally.sent += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*pending, return_exceptions=True)
    return tally


async def run(system: BenchSystem, urls: dict[str, str]) -> list[dict[str, Any]]:
    until = time.perf_counter() + SECONDS
    users: list[str] = []
    limits = httpx.Limits(max_connections=2 * MAX_IN_FLIGHT)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def command(i: int) -> bool:
            if users and i % 2:
                body = {
                    "type": "UpdateUser",
                    "data": {"id": users[i % len(users)], "age": 20 + i % 50},
                }
            else:
                email = f"soak-{uuid.uuid4().hex[:12]}@bench.io"
                body = {"type": "CreateUser", "data": {"name": "Soak", "email": email, "age": 30}}
            answer = await client.post(f"{urls['commands']}/api/v1/cqrs/commands", json=body)
            if answer.status_code == 200 and body["type"] == "CreateUser":
                users.append(answer.json()["aggregate_id"])
            return answer.status_code == 200

        async def query(i: int) -> bool:
            if not users:
                return True
            body = {"type": "GetUser", "data": {"id": users[i % len(users)]}}
            if i % 5 == 0:
                body = {"type": "ListUsers", "data": {"limit": 20}}
            answer = await client.post(f"{urls['cached']}/api/v1/cqrs/queries", json=body)
            return answer.status_code in (200, 404)

        samples: dict[str, list[dict[str, float]]] = {}
        warm = time.perf_counter() + min(WARM_UP_SECONDS, SECONDS / 2)

        async def stats_of(url: str) -> dict[str, float]:
            try:
                body = (await client.get(f"{url}/api/v1/cqrs/stats", timeout=5)).json()
            except (httpx.HTTPError, ValueError):
                return {}
            found = {"tasks": float(body.get("tasks", 0))}
            if isinstance(body.get("query_log"), dict):
                found["log_buffered"] = float(body["query_log"].get("buffered", 0))
                found["log_bound"] = float(body["query_log"].get("buffer_size", 0))
                found["log_dropped"] = float(body["query_log"].get("dropped", 0))
            return found

        async def sampler() -> None:
            while time.perf_counter() < until:
                for process in system.processes:
                    if process.proc is not None:
                        name = f"{process.script}:{process.port}"
                        taken = sample(process.proc.pid) | await stats_of(process.url)
                        if time.perf_counter() >= warm:
                            samples.setdefault(name, []).append(taken)
                await asyncio.sleep(SAMPLE_SECONDS)

        sent = await asyncio.gather(
            _steady(COMMANDS_PER_SECOND, until, command),
            _steady(QUERIES_PER_SECOND, until, query),
            sampler(),
        )
    rows = []
    commands, queries = sent[0], sent[1]
    errors = commands.failed + queries.failed
    print(
        f"soak: {SECONDS:.0f} s, commands sent {commands.sent} (failed {commands.failed},"
        f" skipped {commands.skipped}), queries sent {queries.sent} (failed {queries.failed},"
        f" skipped {queries.skipped})"
    )
    print(f"  growth from the first sample after {WARM_UP_SECONDS:.0f} s of warm-up to the last")
    for name, series in samples.items():
        first, last = series[0], series[-1]
        growth = (
            (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"] * 100 if first["rss_mb"] else 0
        )
        tasks = f"  tasks {first.get('tasks', 0):.0f} -> {last.get('tasks', 0):.0f}"
        buffered = [s_["log_buffered"] for s_ in series if "log_buffered" in s_]
        log = (
            f"  query-log buffer max {max(buffered):.0f} of {last.get('log_bound', 0):.0f}"
            f" (dropped {last.get('log_dropped', 0):.0f})"
            if buffered
            else ""
        )
        print(
            f"  {name:<28} rss {first['rss_mb']:7.1f} -> {last['rss_mb']:7.1f} MB ({growth:+.1f}%)"
            f"  sockets {first['sockets']:.0f} -> {last['sockets']:.0f}"
            f"  fds {first['fds']:.0f} -> {last['fds']:.0f}{tasks}{log}"
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
                "tasks_first": first.get("tasks"),
                "tasks_last": last.get("tasks"),
                "query_log_buffer_max": max(buffered) if buffered else None,
                "errors": errors,
                "skipped": commands.skipped + queries.skipped,
            }
        )
    return rows
