"""A private nginx gateway for one benchmark run: the project's own template
(deploy/gateway/nginx.conf.template, rendered by deploy/local/nginx.sh) on a free port,
in a state folder of its own, in front of the run's service processes."""

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/local/nginx.sh"


def _servers(urls: list[str]) -> str:
    return " ".join(f"server {u.removeprefix('http://')};" for u in urls)


class Gateway:
    def __init__(self, run: str, commands: str, projector: str) -> None:
        self.port = free_port()
        self.state = ROOT / f".state/bench-gateway-{run}"
        self._env = {
            **os.environ,
            "CQRS_STATE_DIR": str(self.state),
            "GATEWAY_PORT": str(self.port),
            "COMMAND_UPSTREAMS": _servers([commands]),
            "PROJECTOR_UPSTREAMS": _servers([projector]),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        """nginx's master (its workers are its children)."""
        return self.state / "nginx/nginx.pid"

    def route_queries_to(self, query_urls: list[str]) -> None:
        """Start, or reload with, these query-service replicas behind /api/v1/cqrs/queries."""
        self._env["QUERY_UPSTREAMS"] = _servers(query_urls)
        running = (self.state / "nginx/nginx.pid").exists()
        subprocess.run([str(SCRIPT), "reload" if running else "start"], env=self._env, check=True)

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop"], env=self._env, check=False)
        shutil.rmtree(self.state, ignore_errors=True)


@contextlib.contextmanager
def gateway(run: str, commands: str, projector: str) -> Iterator[Gateway]:
    gw = Gateway(run, commands, projector)
    try:
        yield gw
    finally:
        gw.stop()
