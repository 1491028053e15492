"""Private copies of MariaDB (the event store's two shards: mariadb and mariadb-shard),
Redis, Kafka and the read store for the chaos runs, so that killing them never disturbs
anyone else's tests.

They are started and stopped by the same deploy/local scripts as the shared ones, pointed
at a config copy with other ports (CQRS_CONFIG) and at their own state folder
(CQRS_STATE_DIR=.state/chaos). Only these servers are ever killed: their pids come from
.state/chaos/<component>/<component>.pid."""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.services import ROOT, Endpoints

STATE = ROOT / ".state" / "chaos"
CONFIG = STATE / "config.yaml"
INFRA = ROOT / "deploy" / "local" / "infra.sh"
COMPONENTS = ("mariadb", "mariadb-shard", "redis", "kafka", "readstore")
PORTS = {
    "mariadb": 13306,
    "mariadb-shard": 13316,  # the event store's shard 1 (deploy/local/mariadb-shard.sh)
    "redis": 16379,
    "kafka": 19092,
    "readstore": 37017,
}
LIMIT = 1_000_000  # requests per minute: the load must never meet a rate limit
# Installed once for the shared servers and reused here (no second download).
SHARED_INSTALLS = {"kafka/lib": "kafka/lib", "readstore/secantus/venv": "readstore/secantus/venv"}


def write_config() -> Path:
    """configs/config.yaml with the private ports; no rate limit, no webhook delivery."""
    config = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text())
    config["database"]["mysql"]["port"] = PORTS["mariadb"]
    config["database"]["mysql"]["replicas"] = []  # the shared replica copies another primary
    config["local"]["mariadb_shard_port"] = PORTS["mariadb-shard"]
    config["database"]["mongodb"]["uri"] = f"mongodb://127.0.0.1:{PORTS['readstore']}"
    config["redis"]["url"] = f"redis://127.0.0.1:{PORTS['redis']}/0"
    config["kafka"]["brokers"] = [f"127.0.0.1:{PORTS['kafka']}"]
    config["local"]["readstore_port"] = PORTS["readstore"]
    limits = config["security"]["rate_limits"]
    limits.update(dict.fromkeys(("commands", "queries", "admin", "default"), LIMIT))
    config["webhooks"]["enabled"] = False
    config["system"]["services"] = {}
    STATE.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(yaml.safe_dump(config, sort_keys=False))
    return CONFIG


def _reuse_shared_installs() -> None:
    """Link the Kafka jars and the SecantusDB venv of the shared servers, when present."""
    shared_state = ROOT / ".state"
    for mine, theirs in SHARED_INSTALLS.items():
        link, target = STATE / mine, shared_state / theirs
        if link.exists() or link.is_symlink() or not (target / ".installed").is_file():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)


@dataclass(frozen=True)
class PrivateInfra:
    config: Path

    @property
    def env(self) -> dict[str, str]:
        """What the deploy/local scripts need to act on the private servers only."""
        return {**os.environ, "CQRS_CONFIG": str(self.config), "CQRS_STATE_DIR": str(STATE)}

    @property
    def endpoints(self) -> Endpoints:
        config = yaml.safe_load(self.config.read_text())
        db = config["database"]["mysql"]
        user = f"{db['username']}:{db['password']}"
        return Endpoints(
            mysql_url=f"mysql+aiomysql://{user}@127.0.0.1:{db['port']}",
            mysql_shard_url=f"mysql+aiomysql://{user}@127.0.0.1:{config['local']['mariadb_shard_port']}",
            mongodb_uri=f"mongodb://127.0.0.1:{PORTS['readstore']}",
            kafka_brokers=f"127.0.0.1:{PORTS['kafka']}",
            redis_url=f"redis://127.0.0.1:{PORTS['redis']}/0",
            source="chaos",
        )

    @classmethod
    def prepare(cls) -> "PrivateInfra":
        config = write_config()
        _reuse_shared_installs()
        return cls(config)

    def up(self, *components: str) -> None:
        self._infra("up", *(components or COMPONENTS))

    def down(self) -> None:
        self._infra("down", *COMPONENTS, check=False)

    def _infra(self, action: str, *components: str, check: bool = True) -> None:
        subprocess.run([str(INFRA), action, *components], env=self.env, check=check, timeout=300)

    def pid(self, component: str) -> int:
        return int((STATE / component / f"{component}.pid").read_text())

    def kill(self, component: str) -> int:
        """kill -9 one private server (its whole process group) and wait until it is gone."""
        assert component in COMPONENTS, component
        pid = self.pid(component)
        os.killpg(pid, signal.SIGKILL)  # started with setsid: the group is the server's
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"{component} (pid {pid}) survived kill -9"
        (STATE / component / f"{component}.pid").unlink(missing_ok=True)
        return pid


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
