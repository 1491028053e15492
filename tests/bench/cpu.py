"""CPU time per process group, read from /proc/<pid>/stat (utime + stime of every thread),
before and after a run: the steady figure on a shared machine, where throughput is noisy.

A group is a name and a way to find its pids when sampled: a process we started and all
its descendants (Granian's workers), a shared server from its pid file under .state/, or
the bench's own process (the bare baselines run in it)."""

import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".state"
# the shared servers: their pid file under .state/<component>/, else a pgrep pattern
SERVERS = {
    "mariadb": ("mariadb/mariadbd.pid", "mariadb/my.cnf"),
    "mariadb-replica": ("mariadb-replica/mariadb-replica.pid", "mariadb-replica/my.cnf"),
    "mariadb-shard": ("mariadb-shard/mariadb-shard.pid", "mariadb-shard/my.cnf"),
    "kafka": ("kafka/kafka.pid", "kafka.Kafka"),
    "readstore": ("readstore/readstore.pid", "secantusd"),
    "redis": ("redis/redis.pid", "redis-server"),
}


def parse_stat(text: str) -> tuple[int, int, int]:
    """(parent pid, utime + stime in ticks, process group) from the text of /proc/<pid>/stat.
    The command name (field 2) may hold spaces and parentheses: split after the last ')'."""
    fields = text.rsplit(")", 1)[1].split()
    # after the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15)
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[2])


def _stats() -> dict[int, tuple[int, int, int]]:
    """Every live process: pid -> (ppid, cpu ticks, pgrp)."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    found[int(entry.name)] = parse_stat(f.read())
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return found


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """`root` and every process below it, from a pid -> parent pid map."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found or pid not in parents:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def server_pid(name: str) -> int | None:
    """A shared server's main pid: its pid file under .state/, else the oldest pgrep match."""
    pid_file, pattern = SERVERS[name]
    pid = _read_pid(STATE / pid_file)
    if pid is not None and Path(f"/proc/{pid}").exists():
        return pid
    found = subprocess.run(
        ["pgrep", "-o", "-f", pattern], capture_output=True, text=True, check=False
    )
    out = found.stdout
    return int(out.split()[0]) if out.split() else None


Roots = Callable[[], Iterable[int | None]]


@dataclass
class Groups:
    """Named process groups; each is the set of trees below some root pids."""

    roots: dict[str, Roots] = field(default_factory=dict)
    alone: set[str] = field(default_factory=set)  # groups of their roots only, no children

    def add(self, name: str, roots: Roots, children: bool = True) -> None:
        self.roots[name] = roots
        if not children:
            self.alone.add(name)

    def add_pid_file(self, name: str, path: Path) -> None:
        self.add(name, lambda: [_read_pid(path)])

    def sample(self) -> dict[str, dict[int, int]]:
        """group -> {pid: cpu ticks so far} for every process of the group alive now."""
        stats = _stats()
        parents = {pid: s[0] for pid, s in stats.items()}
        sampled: dict[str, dict[int, int]] = {}
        for name, roots in self.roots.items():
            pids: set[int] = set()
            for root in roots():
                if root is not None and name in self.alone:
                    pids |= {root} & parents.keys()
                elif root is not None:
                    pids |= descendants(root, parents)
            sampled[name] = {pid: stats[pid][1] for pid in pids}
        return sampled


def delta_seconds(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]
) -> dict[str, float]:
    """CPU seconds each group used between two samples. A process that appeared meanwhile
    counts from zero; one that ended meanwhile is lost (its last ticks were not seen)."""
    used = {}
    for name, now in after.items():
        then = before.get(name, {})
        ticks = sum(max(0, t - then.get(pid, 0)) for pid, t in now.items())
        used[name] = ticks / TICKS
    return used


def per_op_ms(used: dict[str, float], ops: int) -> dict[str, float]:
    """CPU ms per operation for each group, plus "total"."""
    if ops <= 0:
        return {}
    per = {name: seconds * 1000 / ops for name, seconds in used.items()}
    per["total"] = sum(used.values()) * 1000 / ops
    return per


def percent_of_core(used: dict[str, float], seconds: float) -> dict[str, float]:
    return {name: s * 100 / seconds for name, s in used.items()} if seconds > 0 else {}


class Meter:
    """`with Meter(groups) as m: ...` then `m.used` (group -> CPU seconds)."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}
        self._before: dict[str, dict[int, int]] = {}

    def __enter__(self) -> "Meter":
        self._before = self.groups.sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self.used = delta_seconds(self._before, self.groups.sample())


def self_pid() -> int:
    return os.getpid()
