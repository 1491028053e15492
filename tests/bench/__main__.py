"""`just bench`: every benchmark against its baseline, run in this one command.
Prints scenario, ours, baseline, ratio; writes bench-results/results.json.
Bounded: fixed call counts; loopback only."""

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.bench import freshness, read_path, write_path
from tests.bench.system import bench_system

WRITES = int(os.environ.get("BENCH_WRITES", "1500"))
READS = int(os.environ.get("BENCH_READS", "3000"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16").split(",")]


def row(rows: list[dict[str, Any]], scenario: str, ours: Any, base: Any | None) -> None:
    entry = {
        "scenario": scenario,
        "ours_rate": round(ours.rate, 1),
        "ours_p50_ms": round(ours.p50_ms, 2),
        "ours_p99_ms": round(ours.p99_ms, 2),
        "ours_errors": ours.errors,
    }
    if base is not None:
        entry |= {
            "baseline_rate": round(base.rate, 1),
            "baseline_p50_ms": round(base.p50_ms, 2),
            "baseline_p99_ms": round(base.p99_ms, 2),
            "ratio": round(ours.rate / base.rate, 3) if base.rate else None,
        }
    rows.append(entry)
    print(
        f"{scenario:<42} {entry['ours_rate']:>9}/s  p99 {entry['ours_p99_ms']:>7} ms"
        + (f"   baseline {entry['baseline_rate']:>9}/s   ratio {entry['ratio']}" if base else ""),
        flush=True,
    )


async def main() -> int:
    rows: list[dict[str, Any]] = []
    async with bench_system() as system:
        commands = await system.start("command-service")
        await system.start("projector")
        cached = await system.start("query-service")
        uncached = await system.start("query-service", CQRS__CQRS__CACHING_ENABLED="false")
        for c in CONCURRENCY:
            ours = await write_path.ours(system, commands.url, WRITES, c)
            base = await write_path.baseline(system, WRITES, c)
            row(rows, f"write: CreateUser, concurrency {c}", ours, base)
        uid, document = await read_path.seed(commands.url, cached.url)
        base = await read_path.baseline(system, document, READS, 16)
        get_user = {"type": "GetUser", "data": {"id": uid}}
        row(
            rows,
            "read: GetUser cached, c16",
            await read_path.queries(cached.url, get_user, READS, 16),
            base,
        )
        row(
            rows,
            "read: GetUser uncached, c16",
            await read_path.queries(uncached.url, get_user, READS, 16),
            base,
        )
        orders = {"type": "ListOrders", "data": {"user_id": uid, "limit": 20}}
        row(
            rows,
            "read: ListOrders page (cached), c16",
            await read_path.queries(cached.url, orders, READS, 16),
            base,
        )
        fresh = await freshness.measure(
            commands.url, cached.url.replace("http", "ws"), rate=50, seconds=10
        )
        print(
            f"{'freshness: 2xx -> WebSocket, 50 cmd/s':<42} p50 {fresh['p50_ms']:.1f} ms  p99 {fresh['p99_ms']:.1f} ms  ({fresh['seen']}/{fresh['commands']} seen)"
        )
        rows.append({"scenario": "freshness: 2xx -> WebSocket at 50 commands/s", **fresh})
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    print(f"results: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
