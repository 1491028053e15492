"""HTTP load from wrk (Debian's package, deploy/local/bench-tools.sh): a C generator that
reaches far past any server measured here, so a baseline is never capped by the client.
A Lua script makes the POST bodies; CreateUser gets a unique email per request."""

import asyncio
import json
import re
import resource
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.bench.system import LOGS

TIMEOUT = "5s"  # a response slower than this counts as a timeout


@dataclass(frozen=True)
class WrkResult:
    requests: int  # responses received (any status)
    seconds: float
    non_2xx: int
    socket_errors: int  # connect + read + write
    timeouts: int
    p50_ms: float
    p99_ms: float
    wrk_cpu_s: float = 0.0  # wrk's own CPU time: the generator's headroom

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def rate(self) -> float:
        """2xx responses per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.timeouts

    @property
    def wrk_core_pct(self) -> float:
        return self.wrk_cpu_s * 100 / self.seconds if self.seconds else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    """A wrk duration ("812.00us", "1.20ms", "2.00s", "1.00m") in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    """The text wrk prints with --latency."""
    done = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    if not done:
        raise ValueError(f"no request count in wrk output:\n{output}")
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    connect, read, write, timeouts = (int(g) for g in sockets.groups()) if sockets else (0,) * 4
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2)) / 1000,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=connect + read + write,
        timeouts=timeouts,
        p50_ms=_ms(latency["50"]) if "50" in latency else 0.0,
        p99_ms=_ms(latency["99"]) if "99" in latency else 0.0,
    )


def _lua(text: str) -> str:
    """A Lua string literal."""
    return json.dumps(text)  # JSON string escapes are valid Lua escapes for this text


def post_script(path: str, body: dict[str, object]) -> str:
    """The same JSON body POSTed on every request."""
    return (
        f"wrk.method = 'POST'\nwrk.path = {_lua(path)}\nwrk.body = {_lua(json.dumps(body))}\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )


def create_user_script(path: str = "/api/v1/cqrs/commands") -> str:
    """CreateUser with an email unique per request: a run tag, the thread and a counter."""
    tag = uuid.uuid4().hex[:10]
    return f"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "{tag}-" .. threads)
end
local n = 0
local headers = {{["Content-Type"] = "application/json"}}
function request()
  n = n + 1
  local body = '{{"type":"CreateUser","data":{{"name":"Bench User","email":"w-'
    .. prefix .. '-' .. n .. '@bench.io","age":30}}}}'
  return wrk.format("POST", {_lua(path)}, headers, body)
end
"""


FOLDER = LOGS.parent / "wrk"  # each run's script and raw output, to check a figure by


def _script_file(name: str, script: str) -> Path:
    path = FOLDER / f"{name}.lua"
    path.write_text(script)
    return path.resolve()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run(url: str, connections: int, seconds: int, script: str | None = None) -> WrkResult:
    """wrk for a fixed duration; one thread per connection up to two (the machine's cores)."""
    threads = max(1, min(2, connections))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", TIMEOUT]
    name = uuid.uuid4().hex[:8]
    FOLDER.mkdir(parents=True, exist_ok=True)
    if script is not None:
        command += ["-s", str(_script_file(name, script))]
    before = _children_cpu()
    proc = await asyncio.create_subprocess_exec(
        *command, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=seconds + 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    (FOLDER / f"{name}.txt").write_text(f"{' '.join(command)} {url}\n{text}")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
    result = parse(text)
    return WrkResult(**{**result.__dict__, "wrk_cpu_s": _children_cpu() - before})
