"""The whole system, started as `just up` starts it (deploy/local/services.sh: command-
service, projector, two query-service replicas, the nginx gateway), but in a namespace
of this run's own: its database, topics, read-store database and Redis prefix, its own
ports and state folder, so it never meets a system a developer has running. Tests talk
to the gateway only (and to each query replica's WebSocket)."""

import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.processes import free_port
from tests.support.services import ROOT

SERVICES = ROOT / "deploy/local/services.sh"


@dataclass(frozen=True)
class System:
    gateway: str
    query_replicas: tuple[str, str]
    up_seconds: float


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".state/tools/bin/uv")
    if not Path(found).exists():
        raise RuntimeError("uv is needed to start the services (./dev installs it)")
    return found


@pytest.fixture(scope="session")
def system(
    service_env: dict[str, str], run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    state = tmp_path_factory.mktemp("e2e-state")
    ports = {name: free_port() for name in ("command", "projector", "query1", "query2", "gw")}
    config = yaml.safe_load((ROOT / "configs/config.yaml").read_text())
    config["command_service"] = {**config.get("command_service", {}), "port": ports["command"]}
    config["projector"] = {**config.get("projector", {}), "port": ports["projector"]}
    config["query_service"] = {**config.get("query_service", {}), "port": ports["query1"]}
    config["local"] = {**config["local"], "gateway_port": ports["gw"]}
    config_file = state / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        **service_env,
        "CQRS_CONFIG": str(config_file),
        "CQRS_STATE_DIR": str(state),
        "QUERY_PORT_2": str(ports["query2"]),
        "UV": _uv(),
        "KAFKA_GROUP_ID": f"projector-e2e-{run_id}",
        "CQRS__REDIS__PREFIX": f"test:{run_id}:e2e",
    }
    started = time.perf_counter()
    try:
        try:
            subprocess.run([str(SERVICES), "up"], env=env, check=True, cwd=ROOT, timeout=300)
        except subprocess.SubprocessError:
            for log in sorted(state.glob("*/*.log")):
                print(f"--- {log} ---\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise
        up_seconds = time.perf_counter() - started
        print(f"\ne2e: the system was up and healthy {up_seconds:.1f} s after services.sh up")
        yield System(
            gateway=f"http://127.0.0.1:{ports['gw']}",
            query_replicas=(
                f"http://127.0.0.1:{ports['query1']}",
                f"http://127.0.0.1:{ports['query2']}",
            ),
            up_seconds=up_seconds,
        )
    finally:
        subprocess.run([str(SERVICES), "down"], env=env, check=False, cwd=ROOT, timeout=120)


@pytest.fixture
async def gateway(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as client:
        yield client
