"""Run a service as a real OS process (so tests can kill -9 it), and wait on HTTP."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.polling import eventually

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """`<console script> serve --port P` with the given environment; logs to a file."""

    def __init__(self, script: str, env: dict[str, str], log_path: Path) -> None:
        self.script = script
        self.env = {**os.environ, **env}
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / self.script), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = self.proc

        async def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.script} exited; see {self.log_path}")
            return (await client.get(f"{self.url}/health")).status_code == 200

        async with httpx.AsyncClient() as client:
            await eventually(
                healthy,
                timeout=timeout,
                interval=0.1,
                ignoring=(httpx.TransportError,),
                what=f"{self.script} to answer /health (see {self.log_path})",
            )

    def kill(self) -> None:
        """kill -9 the whole process group (Granian and its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
