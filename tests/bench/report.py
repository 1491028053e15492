"""Rows of the benchmark: each scenario's side ("ours") against its baseline measured in the
same run, with CPU ms per operation of every process involved; printed as tables and
written to bench-results/results.json."""

from dataclasses import asdict, dataclass, field
from typing import Any

from tests.bench import cpu
from tests.bench.load import Result
from tests.bench.wrk import WrkResult


@dataclass
class Side:
    label: str  # what ran, e.g. "wrk -> gateway -> command-service" or "bare SQL loop"
    rate: float  # successful operations per second
    p50_ms: float
    p99_ms: float
    errors: int
    ops: int  # successful operations the CPU is divided by
    cpu_ms: dict[str, float]  # per operation, for each process group involved, and "total"
    notes: dict[str, Any] = field(default_factory=dict)


def counted(used: dict[str, float], groups: list[str]) -> dict[str, float]:
    """Only the groups involved in a scenario (each side lists its own)."""
    return {g: used.get(g, 0.0) for g in groups}


def from_wrk(label: str, result: WrkResult, used: dict[str, float], groups: list[str]) -> Side:
    return Side(
        label,
        result.rate,
        result.p50_ms,
        result.p99_ms,
        result.errors,
        result.ok,
        cpu.per_op_ms(counted(used, groups), result.ok),
        {
            "seconds": round(result.seconds, 2),
            "non_2xx": result.non_2xx,
            "socket_errors": result.socket_errors,
            "timeouts": result.timeouts,
            "wrk_cpu_pct_of_core": round(result.wrk_core_pct, 1),
        },
    )


def from_load(
    label: str, result: Result, used: dict[str, float], groups: list[str], ops: int | None = None
) -> Side:
    """`ops`: the operations the CPU was metered over, when not all of `result.calls`."""
    ops = result.calls if ops is None else ops
    return Side(
        label,
        result.rate,
        result.p50_ms,
        result.p99_ms,
        result.errors,
        ops,
        cpu.per_op_ms(counted(used, groups), ops),
        {"seconds": round(result.seconds, 2)},
    )


def _rounded(side: Side) -> dict[str, Any]:
    data = asdict(side)
    for key in ("rate", "p50_ms", "p99_ms"):
        data[key] = round(data[key], 2)
    data["cpu_ms"] = {k: round(v, 3) for k, v in side.cpu_ms.items()}
    return data


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def compare(scenario: str, ours: Side, base: Side | None) -> dict[str, Any]:
    """One row: ours against the baseline; `ratio` is throughput (higher is better),
    `cpu_ratio` is CPU per operation (lower is better)."""
    return {
        "scenario": scenario,
        "ours": _rounded(ours),
        "baseline": _rounded(base) if base else None,
        "ratio": ratio(ours.rate, base.rate) if base else None,
        "cpu_ratio": ratio(ours.cpu_ms.get("total"), base.cpu_ms.get("total")) if base else None,
    }


def _num(value: object, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The throughput/latency/CPU table, then each side's CPU per process."""
    compared = [r for r in rows if "ours" in r]
    lines = [
        f"{'scenario':<46} {'ours/s':>8} {'p50':>7} {'p99':>7} {'err':>5} | {'base/s':>8} "
        f"{'p99':>7} | {'ratio':>5} | {'CPU ms/op':>9} {'base':>6} {'x':>5} | {'wrk %':>5}",
    ]
    for r in compared:
        o, b = r["ours"], r["baseline"] or {}
        lines.append(
            f"{r['scenario']:<46} {_num(o['rate']):>8} {_num(o['p50_ms'], 2):>7} "
            f"{_num(o['p99_ms'], 2):>7} {o['errors']:>5} | {_num(b.get('rate')):>8} "
            f"{_num(b.get('p99_ms'), 2):>7} | {_num(r['ratio'], 2):>5} | "
            f"{_num(o['cpu_ms'].get('total'), 2):>9} {_num(b.get('cpu_ms', {}).get('total'), 2):>6}"
            f" {_num(r['cpu_ratio'], 1):>5} | {_num(o['notes'].get('wrk_cpu_pct_of_core')):>5}"
        )
    lines.append(
        "ratio: our rate / baseline rate; x: our CPU per op / baseline's; wrk %: the load"
        " generator's own CPU (% of a core) in our run"
    )
    lines.append("")
    lines.append("CPU ms per operation, by process (read from /proc, utime+stime):")
    for r in compared:
        lines.append(f"  {r['scenario']}")
        for side in ("ours", "baseline"):
            if r[side] and r[side]["cpu_ms"]:
                parts = ", ".join(f"{k} {v:.3f}" for k, v in r[side]["cpu_ms"].items())
                lines.append(f"    {side:<8} [{r[side]['label']}]: {parts}")
    lags = [r for r in rows if str(r.get("scenario", "")).startswith("replica lag")]
    if lags:
        lines += ["", "Replica lag under the write load (ms; commit on primary -> on replica):"]
        lines += [
            f"  {r['scenario']:<58} p50 {r['p50_ms']:>7.2f} p99 {r['p99_ms']:>7.2f} "
            f"max {r['max_ms']:>7.2f} (n {r['n']}) at {r['write_rate']} cmd/s"
            for r in lags
        ]
    scaling = [r for r in rows if "rate_ratio" in r]
    if scaling:
        lines += ["", "Writes on two event-store shards against one (ratios 2 shards / 1 shard):"]
        lines += [
            f"  {r['scenario']:<58} rate x{_num(r['rate_ratio'], 2)}, command-service CPU"
            f" ms/cmd x{_num(r['command_service_cpu_ratio'], 2)}; events per shard"
            f" {r['events_per_shard']}"
            for r in scaling
        ]
    return "\n".join(lines)
