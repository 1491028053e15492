"""`just bench`: every benchmark against its baseline, run in this one command (issue 13).
Prints a table (ours, baseline, ratio, CPU ms per operation of every process involved) and
writes bench-results/results.json. Bounded: fixed durations; loopback only.

HTTP load comes from wrk (tests/bench/wrk.py), never a Python client that would cap the
baseline; the freshness sender is Python at fixed rates (a latency test).

Environment: BENCH_SECONDS (10, per wrk/loop run), BENCH_IDLE_SECONDS (30),
BENCH_CONCURRENCY ("1,16"), BENCH_SCENARIOS
("idle,write,replica,shards,read,gateway,fresh,projection"; "soak" runs the soak alone),
BENCH_SOAK_SECONDS (600)."""

import asyncio
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import (
    cpu,
    freshness,
    projection,
    read_path,
    replica_lag,
    soak,
    store_counts,
    write_path,
    wrk,
)
from tests.bench.gateway import Gateway, gateway
from tests.bench.report import Side, compare, from_load, from_wrk, ratio, table
from tests.bench.system import BenchSystem, bench_system
from tests.support.processes import ServiceProcess

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "30"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16").split(",")]
SCENARIOS = set(
    os.environ.get(
        "BENCH_SCENARIOS", "idle,write,replica,shards,read,gateway,fresh,projection"
    ).split(",")
)
PROJECTION_EVENTS = 2000  # at least this many stored events for the projection runs
FRESH_RATES = (50, 200)
QUIET_PCT = 10.0  # our services at rest: together under this % of a core
QUIET_LIMIT_S = 60.0
BENCH = "bench process"  # the bare baselines run in this Python process
NGINX = "nginx (gateway)"
SERVERS = list(cpu.SERVERS)  # mariadb, mariadb-replica, mariadb-shard, kafka, readstore, redis
SERVICES = ["command-service", "projector", "query-service-1", "query-service-2"]
TWO_SHARDS = "command-service (2 shards)"


def _one(find: Callable[[str], int | None], name: str) -> list[int | None]:
    return [find(name)]


class Bench:
    def __init__(self, system: BenchSystem, gw: Gateway, procs: dict[str, ServiceProcess]):
        self.system, self.gw, self.procs = system, gw, procs
        self.rows: list[dict[str, Any]] = []
        self.groups = cpu.Groups()
        for name in SERVERS:
            self.groups.add(name, functools.partial(_one, cpu.server_pid, name))
        self.groups.add_pid_file(NGINX, gw.pid_file)
        self.groups.add(BENCH, lambda: [os.getpid()], children=False)
        for name in [*SERVICES, "query-service (uncached)", TWO_SHARDS]:
            self.groups.add(name, functools.partial(_one, self._pid, name))

    def _pid(self, name: str) -> int | None:
        process = self.procs.get(name)
        return process.proc.pid if process and process.proc else None

    def url(self, name: str) -> str:
        return self.procs[name].url

    def add(self, scenario: str, ours: Side, base: Side | None) -> None:
        row = compare(scenario, ours, base)
        self.rows.append(row)
        o, b = row["ours"], row["baseline"] or {}
        print(
            f"{scenario:<46} {o['rate']:>8.1f}/s p99 {o['p99_ms']:>7.2f} ms "
            f"CPU {o['cpu_ms'].get('total', 0):.2f} ms/op | baseline {b.get('rate', 0):>8.1f}/s "
            f"CPU {b.get('cpu_ms', {}).get('total', 0):.2f} ms/op | ratio {row['ratio']}",
            flush=True,
        )

    async def quiet(self, limit_s: float = QUIET_LIMIT_S) -> float:
        """Wait until our services are back at rest (together under QUIET_PCT of a core over
        a second): work a run left behind (e.g. query-log writes still queued) finishes
        inside that run's CPU meter, not in the next run. Bounded; returns the seconds."""
        started = time.perf_counter()
        names = [n for n in self.groups.roots if n not in (*SERVERS, BENCH)]
        while time.perf_counter() - started < limit_s:
            with cpu.Meter(self.groups) as meter:
                await asyncio.sleep(1)
            if sum(meter.used[n] for n in names) * 100 < QUIET_PCT:
                break
        return time.perf_counter() - started

    async def wrk(
        self, label: str, url: str, connections: int, script: str | None, groups: list[str]
    ) -> Side:
        await self.quiet()
        with cpu.Meter(self.groups) as meter:
            result = await wrk.run(url, connections, SECONDS, script)
            settled = await self.quiet()
        side = from_wrk(label, result, meter.used, groups)
        side.notes["quiet_after_s"] = round(settled, 1)
        return side

    # -- 4. idle CPU ------------------------------------------------------------------
    async def idle(self) -> None:
        await asyncio.sleep(3)  # start-up work settles
        started = time.perf_counter()
        with cpu.Meter(self.groups) as meter:
            await asyncio.sleep(IDLE_SECONDS)
        pct = cpu.percent_of_core(meter.used, time.perf_counter() - started)
        services = {n: round(pct[n], 2) for n in SERVICES}
        background = {n: round(pct[n], 2) for n in SERVERS}
        print(f"idle CPU over {IDLE_SECONDS} s, % of a core: {services}")
        print(f"  shared servers meanwhile (other users of them included): {background}")
        self.rows.append(
            {
                "scenario": f"idle: CPU % of a core over {IDLE_SECONDS} s, no load",
                "services": services,
                "shared_servers_background": background,
            }
        )

    # -- 2a/2b. writes ----------------------------------------------------------------
    async def writes(self) -> None:
        commands = f"{self.gw.url}/api/v1/cqrs/commands"
        # the bare SQL loop first: its rate is the baseline of both write scenarios
        bases = {}
        for c in CONCURRENCY:
            await self.quiet()
            with cpu.Meter(self.groups) as meter:
                loop = await write_path.baseline(self.system, SECONDS, c)
            bases[c] = from_load(
                f"bare SQLAlchemy+aiomysql loop, c{c}", loop, meter.used, [BENCH, "mariadb"]
            )
        # (a) the projector stopped: both sides write the same rows (ours also relays)
        self.system.stop(self.procs.pop("projector"))
        involved = ["command-service", "mariadb", "kafka", "redis", NGINX]
        for c in CONCURRENCY:
            await self.quiet()
            with cpu.Meter(self.groups) as meter:
                result = await wrk.run(commands, c, SECONDS, wrk.create_user_script())
                # the relay's work for these commands included
                await store_counts.outboxes_drained([self.system.mysql_url])
            ours = from_wrk(
                f"wrk -> gateway -> command-service, c{c}", result, meter.used, involved
            )
            self.add(f"write (a) CreateUser, projector stopped, c{c}", ours, bases[c])
        # (b) the whole system: relay, projector, two query replicas
        self.procs["projector"] = await self.system.start("projector")
        await freshness.caught_up(self.url("command-service"), self.url("query-service-1"))
        involved = [*SERVICES, *SERVERS, NGINX]
        for c in CONCURRENCY:
            await self.quiet()
            with cpu.Meter(self.groups) as meter:
                result = await wrk.run(commands, c, SECONDS, wrk.create_user_script())
                started = time.perf_counter()
                # the pipeline's work for these commands: until the projector caught up
                await freshness.caught_up(self.url("command-service"), self.url("query-service-1"))
                drained = time.perf_counter() - started
            ours = from_wrk(f"wrk -> gateway -> whole system, c{c}", result, meter.used, involved)
            ours.notes["projection_drained_after_s"] = round(drained, 2)
            self.add(f"write (b) CreateUser, whole system, c{c}", ours, bases[c])

    # -- replica lag under the write load (issue 18) -----------------------------------
    async def replica(self) -> None:
        replica_url = self.system.endpoints.mysql_replica_url
        if replica_url is None:
            raise RuntimeError("the replica scenario needs a MariaDB replica (mariadb-replica.sh)")
        commands = f"{self.gw.url}/api/v1/cqrs/commands"
        for c in (1, 16):
            await self.quiet()
            done = asyncio.Event()
            sampler = asyncio.create_task(
                replica_lag.sample(self.system.mysql_url, replica_url, done)
            )
            result = await wrk.run(commands, c, SECONDS, wrk.create_user_script())
            done.set()
            lag = await sampler
            rate = result.rate
            print(
                f"{f'replica lag under CreateUser load, c{c}':<46} {rate:>8.1f} cmd/s "
                f"lag p50 {lag['p50_ms']:.2f} ms p99 {lag['p99_ms']:.2f} ms "
                f"max {lag['max_ms']:.2f} ms (n {lag['n']})",
                flush=True,
            )
            self.rows.append(
                {
                    "scenario": f"replica lag: commit on primary -> visible on replica, c{c}",
                    "write_rate": round(rate, 1),
                    **lag,
                }
            )

    # -- writes on one event-store shard vs two (issue 18 part 2) -----------------------
    async def shards(self) -> None:
        """CreateUser straight at a command-service on shard 0 alone, then at one on both
        shards (the same database name on the shard server), the projector stopped as in
        write (a). Each run's CPU meter closes once every shard's outbox is empty."""
        databases = self.system.event_store_urls
        if len(databases) < 2:
            raise RuntimeError("the shards scenario needs the run's database on the shard server")
        projector = self.procs.pop("projector", None)
        if projector is not None:
            self.system.stop(projector)
        one = self.procs["command-service"]
        servers = ["mariadb", "mariadb-shard", "kafka", "redis"]
        ones: dict[int, Side] = {}
        for c in CONCURRENCY:
            label = f"wrk -> command-service on 1 shard, c{c}"
            ones[c] = await self._writes_at(label, one.url, c, ["command-service", *servers])
            self.add(f"shards: CreateUser, 1 shard, c{c}", ones[c], None)
        one.stop()  # else its relay keeps shard 0's outbox locks and does that work
        try:
            self.procs[TWO_SHARDS] = await self.system.start(
                "command-service", **self.system.two_shards_env()
            )
            for c in CONCURRENCY:
                before = await store_counts.events(databases)
                two = await self._writes_at(
                    f"wrk -> command-service on 2 shards, c{c}",
                    self.url(TWO_SHARDS),
                    c,
                    [TWO_SHARDS, *servers],
                )
                split = store_counts.split(before, await store_counts.events(databases))
                two.notes["events_per_shard"] = split
                self.add(f"shards: CreateUser, 2 shards, c{c} (base: 1)", two, ones[c])
                self._compare_shards(c, ones[c], two, split)
        finally:
            if TWO_SHARDS in self.procs:
                self.system.stop(self.procs.pop(TWO_SHARDS))
            await one.start()  # the same port: the gateway's upstream again
            if projector is not None:
                self.procs["projector"] = await self.system.start("projector")

    async def _writes_at(self, label: str, service: str, c: int, groups: list[str]) -> Side:
        await self.quiet()
        with cpu.Meter(self.groups) as meter:
            result = await wrk.run(
                f"{service}/api/v1/cqrs/commands", c, SECONDS, wrk.create_user_script()
            )
            await store_counts.outboxes_drained(self.system.event_store_urls)
        return from_wrk(label, result, meter.used, groups)

    def _compare_shards(self, c: int, one: Side, two: Side, split: list[int]) -> None:
        cs_one, cs_two = one.cpu_ms.get("command-service"), two.cpu_ms.get(TWO_SHARDS)
        row = {
            "scenario": f"shards: 2 shards / 1 shard, c{c}",
            "rate_ratio": ratio(two.rate, one.rate),
            "command_service_cpu_ratio": ratio(cs_two, cs_one),
            "events_per_shard": split,
        }
        self.rows.append(row)
        print(
            f"{row['scenario']:<46} rate x{row['rate_ratio']} command-service CPU/cmd "
            f"x{row['command_service_cpu_ratio']}; events per shard {split}",
            flush=True,
        )

    # -- 2. reads ---------------------------------------------------------------------
    async def reads(self) -> None:
        uid, document = await read_path.seed(
            self.url("command-service"), self.url("query-service-1")
        )
        get_user = read_path.query_script({"type": "GetUser", "data": {"id": uid}})
        orders = read_path.query_script(
            {"type": "ListOrders", "data": {"user_id": uid, "limit": 20}}
        )
        self.procs["query-service (uncached)"] = await self.system.start(
            "query-service", CQRS__CQRS__CACHING_ENABLED="false"
        )
        async with read_path.bare_app(self.system, document) as (bare_url, bare_pid):
            self.groups.add("bare app", lambda: [bare_pid])
            bare_groups = ["bare app", "redis"]
            base = {
                c: await self.wrk(
                    f"wrk -> bare Granian+Redis app, c{c}", bare_url, c, None, bare_groups
                )
                for c in (16, 64)
            }
            # the generator's headroom for writes: the CreateUser script, same settings
            check = await self.wrk(
                "wrk CreateUser script -> bare app, c16",
                bare_url,
                16,
                wrk.create_user_script(),
                bare_groups,
            )
            self.add("generator check: wrk CreateUser script, c16", check, base[16])
            for scenario, name, script, c in (
                ()
                if "read" not in SCENARIOS
                else (
                    ("read: GetUser cached, 1 replica, c16", "query-service-1", get_user, 16),
                    ("read: GetUser cached, 1 replica, c64", "query-service-1", get_user, 64),
                    (
                        "read: GetUser uncached, 1 replica, c16",
                        "query-service (uncached)",
                        get_user,
                        16,
                    ),
                    ("read: ListOrders page (cached), c16", "query-service-1", orders, 16),
                )
            ):
                url = f"{self.url(name)}/api/v1/cqrs/queries"
                ours = await self.wrk(
                    f"wrk -> {name}, c{c}", url, c, script, [name, "readstore", "redis"]
                )
                self.add(scenario, ours, base[c])
            self.system.stop(self.procs.pop("query-service (uncached)"))
            # -- through the gateway, one then two replicas
            queries = f"{self.gw.url}/api/v1/cqrs/queries"
            if "gateway" in SCENARIOS:
                one = [NGINX, "query-service-1", "readstore", "redis"]
                self.gw.route_queries_to([self.url("query-service-1")])
                ours = await self.wrk(
                    "wrk -> gateway -> 1 replica, c16", queries, 16, get_user, one
                )
                self.add("gateway: GetUser cached, 1 replica, c16", ours, base[16])
                self.gw.route_queries_to([self.url("query-service-1"), self.url("query-service-2")])
                two = await self.wrk(
                    "wrk -> gateway -> 2 replicas, c16",
                    queries,
                    16,
                    get_user,
                    [*one, "query-service-2"],
                )
                self.add("gateway: GetUser cached, 2 replicas, c16", two, base[16])
                scaling = two.rate / ours.rate if ours.rate else 0.0
                print(f"{'scaling: 2 replicas / 1 replica':<46} {scaling:>8.2f}x")
                self.rows.append(
                    {"scenario": "scaling: 2 replicas / 1 replica", "ratio": round(scaling, 3)}
                )

    # -- 3. freshness -----------------------------------------------------------------
    async def fresh(self) -> None:
        ws = self.url("query-service-1").replace("http", "ws")
        for rate in FRESH_RATES:
            await freshness.caught_up(self.url("command-service"), self.url("query-service-1"))
            await self.quiet()
            result = await freshness.measure(self.url("command-service"), ws, rate, SECONDS)
            print(
                f"freshness at {rate} cmd/s: achieved {result['achieved_rate']}/s, "
                f"{result['seen']}/{result['commands']} seen, skipped {result['skipped']}, "
                f"failed {result['failed']}"
            )
            for stage, value in result["stages"].items():
                shown = value
                if not isinstance(value, str):
                    p50, p99 = value["p50_ms"], value["p99_ms"]
                    shown = f"p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  (n {value['n']})"
                print(f"  {stage:<32} {shown}")
            self.rows.append({"scenario": f"freshness at {rate} commands/s", **result})

    # -- 2. projection ----------------------------------------------------------------
    async def projections(self) -> None:
        await self.quiet()
        stored = await projection.stored_events(self.system)
        if stored < PROJECTION_EVENTS:
            await projection.seed(self.url("command-service"), PROJECTION_EVENTS - stored)
        await freshness.caught_up(self.url("command-service"), self.url("query-service-1"))
        events = await projection.stored_events(self.system)
        result, used, ops = await projection.baseline(self.system, events, self.groups)
        base = from_load(
            "bare aiokafka consumer + bulk upserts",
            result,
            used,
            [BENCH, "kafka", "readstore"],
            ops,
        )
        result, used, ops = await projection.live(self.system, events, self.groups)
        groups = ["projector (live)", "kafka", "readstore", "redis", "mariadb"]
        live = from_load("a fresh projector process draining the topic", result, used, groups, ops)
        self.add(f"projection: live, {events} events (ev/s)", live, base)
        result, used, ops = await projection.rebuild(self.system, self.groups)
        groups = [BENCH, "mariadb", "readstore", "redis"]
        rebuilt = from_load(
            "rebuild (in the bench process) from the event store", result, used, groups
        )
        self.add(f"projection: rebuild, {events} events (ev/s)", rebuilt, base)


async def main() -> int:
    async with bench_system(shards="shards" in SCENARIOS) as system:
        procs = {"command-service": await system.start("command-service")}
        procs["projector"] = await system.start("projector")
        procs["query-service-1"] = await system.start("query-service")
        procs["query-service-2"] = await system.start("query-service")
        with gateway(system.run, procs["command-service"].url, procs["projector"].url) as gw:
            gw.route_queries_to([procs["query-service-1"].url])
            bench = Bench(system, gw, procs)
            if "idle" in SCENARIOS:
                await bench.idle()
            if "write" in SCENARIOS:
                await bench.writes()
            if "replica" in SCENARIOS:
                await bench.replica()
            if "shards" in SCENARIOS:
                await bench.shards()
            if "fresh" in SCENARIOS:  # before the reads: nothing they leave behind skews it
                await bench.fresh()
            if "read" in SCENARIOS or "gateway" in SCENARIOS:
                await bench.reads()
            if "projection" in SCENARIOS:
                await bench.projections()
            if "soak" in SCENARIOS:
                urls = {
                    "commands": procs["command-service"].url,
                    "cached": procs["query-service-1"].url,
                }
                bench.rows.extend(await soak.run(system, urls))
    print()
    print(table(bench.rows))
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(bench.rows, indent=2))
    print(f"results: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
