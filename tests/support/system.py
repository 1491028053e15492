"""The whole system, started as `just up` starts it (deploy/local/services.sh: command-
service, projector, two query-service replicas, the nginx gateway serving the console
too), but in a namespace of its own: its database, topics, read-store database and Redis
prefix, its own ports and state folder, so it never meets a system a developer has
running. Used by tests/e2e (auth off, as `just up`) and tests/browser (auth on)."""

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from tests.support.databases import database
from tests.support.processes import free_port
from tests.support.services import ROOT, Endpoints
from tests.support.settings import settings_env

SERVICES = ROOT / "deploy/local/services.sh"


@dataclass(frozen=True)
class System:
    gateway: str
    query_replicas: tuple[str, str]
    up_seconds: float
    config: dict[str, Any]
    env: dict[str, str]


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".state/tools/bin/uv")
    if not Path(found).exists():
        raise RuntimeError("uv is needed to start the services (./dev installs it)")
    return found


@contextlib.asynccontextmanager
async def namespace(
    endpoints: Endpoints, name: str, *, shards: bool = False
) -> AsyncIterator[dict[str, str]]:
    """Settings environment for one system: a migrated database, topics and a read-store
    database of its own (all called `name`), removed afterwards. With `shards`, the event
    store is on two shards: the database `name` is also made (and migrated) on the second
    shard's server, and the environment names that shard."""
    servers = [endpoints.mysql_url, *([endpoints.shard_url()] if shards else [])]
    async with contextlib.AsyncExitStack() as databases:
        for server in servers:
            await databases.enter_async_context(database(server, name, migrated=True))
        async with _topics_and_read_store(endpoints, name) as topic:
            yield settings_env(endpoints, name, topic, name, shards=shards)


@contextlib.asynccontextmanager
async def _topics_and_read_store(endpoints: Endpoints, name: str) -> AsyncIterator[str]:
    """The events topic and its dead-letter topic for `name`, and afterwards no read-store
    database `name`; yields the events topic."""
    topic = f"cqrs-events-{name.replace('_', '-')}"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    topics = [NewTopic(t, num_partitions=3, replication_factor=1) for t in (topic, f"{topic}.dlq")]
    await admin.create_topics(topics)
    try:
        yield topic
    finally:
        await admin.delete_topics([t.name for t in topics])
        await admin.close()
        mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
        await mongo.drop_database(name)
        await mongo.close()


@contextlib.contextmanager
def running_system(
    settings: dict[str, str],
    *,
    run_id: str,
    label: str,
    state: Path,
    changes: dict[str, dict[str, Any]] | None = None,
) -> Iterator[System]:
    """services.sh up in `state` on free ports, with config.yaml's sections updated by
    `changes`; services.sh down afterwards. Its Redis keys are under the run's prefix
    (removed with the run's), its consumer group is its own."""
    ports = {n: free_port() for n in ("command", "projector", "query1", "query2", "gw")}
    config = yaml.safe_load((ROOT / "configs/config.yaml").read_text())
    for section, values in (changes or {}).items():
        config[section] = {**config.get(section, {}), **values}
    config["command_service"] = {**config.get("command_service", {}), "port": ports["command"]}
    config["projector"] = {**config.get("projector", {}), "port": ports["projector"]}
    config["query_service"] = {**config.get("query_service", {}), "port": ports["query1"]}
    config["local"] = {**config["local"], "gateway_port": ports["gw"]}
    config_file = state / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        **settings,
        "CQRS_CONFIG": str(config_file),
        "CQRS_STATE_DIR": str(state),
        "QUERY_PORT_2": str(ports["query2"]),
        "UV": _uv(),
        "KAFKA_GROUP_ID": f"projector-{label}-{run_id}",
        "CQRS__REDIS__PREFIX": f"test:{run_id}:{label}",
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
        print(f"\n{label}: the system was up and healthy {up_seconds:.1f} s after services.sh up")
        yield System(
            gateway=f"http://127.0.0.1:{ports['gw']}",
            query_replicas=(
                f"http://127.0.0.1:{ports['query1']}",
                f"http://127.0.0.1:{ports['query2']}",
            ),
            up_seconds=up_seconds,
            config=config,
            env=env,
        )
    finally:
        subprocess.run([str(SERVICES), "down"], env=env, check=False, cwd=ROOT, timeout=120)
