"""`just bench`: every benchmark against its baseline, run in this one command.
Prints scenario, ours, baseline, ratio; writes bench-results/results.json.
Bounded: fixed call counts and durations; loopback only.

Environment: BENCH_WRITES, BENCH_READS (calls per scenario), BENCH_CONCURRENCY ("1,16"),
BENCH_SCENARIOS ("write,read,gateway,fresh,projection"; "soak" runs the soak alone),
BENCH_SOAK_SECONDS (600)."""

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.bench import freshness, projection, read_path, soak, write_path
from tests.bench.gateway import gateway
from tests.bench.load import Result
from tests.bench.system import BenchSystem, bench_system

WRITES = int(os.environ.get("BENCH_WRITES", "1500"))
READS = int(os.environ.get("BENCH_READS", "3000"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16").split(",")]
SCENARIOS = set(os.environ.get("BENCH_SCENARIOS", "write,read,gateway,fresh,projection").split(","))
PROJECTION_EVENTS = 2000  # at least this many stored events for the projection runs


def row(rows: list[dict[str, Any]], scenario: str, ours: Result, base: Result) -> None:
    entry = {
        "scenario": scenario,
        "ours_rate": round(ours.rate, 1),
        "ours_p50_ms": round(ours.p50_ms, 2),
        "ours_p99_ms": round(ours.p99_ms, 2),
        "ours_errors": ours.errors,
        "baseline_rate": round(base.rate, 1),
        "baseline_p50_ms": round(base.p50_ms, 2),
        "baseline_p99_ms": round(base.p99_ms, 2),
        "ratio": round(ours.rate / base.rate, 3) if base.rate else None,
    }
    rows.append(entry)
    print(
        f"{scenario:<40} {entry['ours_rate']:>8}/s p99 {entry['ours_p99_ms']:>7} ms | "
        f"baseline {entry['baseline_rate']:>8}/s p99 {entry['baseline_p99_ms']:>7} ms | "
        f"ratio {entry['ratio']}",
        flush=True,
    )


async def writes(system: BenchSystem, rows: list[dict[str, Any]], urls: dict[str, str]) -> None:
    for c in CONCURRENCY:
        ours = await write_path.ours(system, urls["commands"], WRITES, c)
        base = await write_path.baseline(system, WRITES, c)
        row(rows, f"write: CreateUser, concurrency {c}", ours, base)
    # how far the projector trails the write runs: the time its backlog takes to drain
    seconds = await freshness.caught_up(urls["commands"], urls["cached"])
    print(f"{'projection: backlog drained after writes':<40} {seconds:>8.2f} s")
    rows.append(
        {
            "scenario": "projection: backlog drained after the write runs (s)",
            "seconds": round(seconds, 2),
        }
    )


async def reads(system: BenchSystem, rows: list[dict[str, Any]], urls: dict[str, str]) -> None:
    uid, document = await read_path.seed(urls["commands"], urls["cached"])
    base = await read_path.baseline(system, document, READS, 16)
    get_user = {"type": "GetUser", "data": {"id": uid}}
    orders = {"type": "ListOrders", "data": {"user_id": uid, "limit": 20}}
    for name, url, body in (
        ("read: GetUser cached, c16", urls["cached"], get_user),
        ("read: GetUser uncached, c16", urls["uncached"], get_user),
        ("read: ListOrders page (cached), c16", urls["cached"], orders),
    ):
        row(rows, name, await read_path.queries(url, body, READS, 16), base)


async def through_gateway(
    system: BenchSystem, rows: list[dict[str, Any]], urls: dict[str, str]
) -> None:
    """The cached read through the gateway with one, then two query-service replicas."""
    uid, document = await read_path.seed(urls["commands"], urls["cached"])
    base = await read_path.baseline(system, document, READS, 16)
    get_user = {"type": "GetUser", "data": {"id": uid}}
    second = (await system.start("query-service")).url
    with gateway(system.run, urls["commands"], urls["projector"]) as gw:
        gw.route_queries_to([urls["cached"]])
        one = await read_path.queries(gw.url, get_user, READS, 16)
        row(rows, "gateway: GetUser cached, 1 replica, c16", one, base)
        gw.route_queries_to([urls["cached"], second])
        two = await read_path.queries(gw.url, get_user, READS, 16)
        row(rows, "gateway: GetUser cached, 2 replicas, c16", two, base)
    print(f"{'scaling: 2 replicas / 1 replica':<40} {two.rate / one.rate:>8.2f}x")
    rows.append(
        {"scenario": "scaling: 2 replicas / 1 replica", "ratio": round(two.rate / one.rate, 3)}
    )


async def projections(
    system: BenchSystem, rows: list[dict[str, Any]], urls: dict[str, str]
) -> None:
    stored = await projection.stored_events(system)
    if stored < PROJECTION_EVENTS:
        await projection.seed(urls["commands"], PROJECTION_EVENTS - stored)
    await freshness.caught_up(urls["commands"], urls["cached"])  # every event is on the topic
    events = await projection.stored_events(system)
    base = await projection.baseline(system, events)
    row(
        rows,
        f"projection: live, {events} events (ev/s)",
        await projection.live(system, events),
        base,
    )
    row(
        rows, f"projection: rebuild, {events} events (ev/s)", await projection.rebuild(system), base
    )


async def fresh(rows: list[dict[str, Any]], urls: dict[str, str]) -> None:
    await freshness.caught_up(urls["commands"], urls["cached"])  # start from no backlog
    result = await freshness.measure(urls["commands"], urls["cached"].replace("http", "ws"), 50, 10)
    print(
        f"{'freshness: 2xx -> WebSocket, 50 cmd/s':<40} p50 {result['p50_ms']:.1f} ms"
        f"  p99 {result['p99_ms']:.1f} ms  ({result['seen']}/{result['commands']} seen)"
    )
    rows.append({"scenario": "freshness: 2xx -> WebSocket at 50 commands/s", **result})


async def main() -> int:
    rows: list[dict[str, Any]] = []
    async with bench_system() as system:
        urls = {
            "commands": (await system.start("command-service")).url,
            "projector": (await system.start("projector")).url,
            "cached": (await system.start("query-service")).url,
            "uncached": (
                await system.start("query-service", CQRS__CQRS__CACHING_ENABLED="false")
            ).url,
        }
        if "write" in SCENARIOS:
            await writes(system, rows, urls)
        if "read" in SCENARIOS:
            await reads(system, rows, urls)
        if "gateway" in SCENARIOS:
            await through_gateway(system, rows, urls)
        if "fresh" in SCENARIOS:
            await fresh(rows, urls)
        if "projection" in SCENARIOS:
            await projections(system, rows, urls)
        if "soak" in SCENARIOS:
            rows.extend(await soak.run(system, urls))
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    print(f"results: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
