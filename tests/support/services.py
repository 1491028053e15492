"""Find (or start) the real services a test run talks to.

Order of choice:
1. Explicit URLs in the environment (CQRS_TEST_MYSQL_URL, CQRS_TEST_MONGODB_URI,
   CQRS_TEST_KAFKA_BROKERS, CQRS_TEST_REDIS_URL): used as they are.
2. A Docker engine that answers: testcontainers (MySQL 8, MongoDB 7, Kafka, Redis).
3. Otherwise the native loopback services of deploy/local, started when not running.

The MariaDB read replica (deploy/local/mariadb-replica.sh) is CQRS_TEST_MYSQL_REPLICA_URL
when set; else, for a primary on loopback (env or native), the same server address with
the port `local.mariadb_replica_port` of the configuration (CQRS_CONFIG or
configs/config.yaml); testcontainers have none.

The event store's second shard (deploy/local/mariadb-shard.sh, an independent server with
the primary's user and password) is CQRS_TEST_MYSQL_SHARD_URL when set; else, for a
loopback primary, the same address with the port `local.mariadb_shard_port`;
testcontainers start a second MySQL container for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
ENV_KEYS = (
    "CQRS_TEST_MYSQL_URL",
    "CQRS_TEST_MONGODB_URI",
    "CQRS_TEST_KAFKA_BROKERS",
    "CQRS_TEST_REDIS_URL",
)


@dataclass(frozen=True)
class Endpoints:
    """Server-level addresses; tests add their own database, collection and topic names."""

    mysql_url: str  # mysql+aiomysql://user:password@host:port (no database)
    mongodb_uri: str
    kafka_brokers: str
    redis_url: str
    source: str  # "env", "testcontainers" or "native"
    mysql_replica_url: str | None = None  # the primary's read replica, same form; None: none
    mysql_shard_url: str | None = None  # the event store's shard 1, same form; None: none

    def shard_url(self) -> str:
        """The second shard's server URL; an error naming the way to get one when none."""
        if self.mysql_shard_url is None:
            raise RuntimeError(
                f"no second MariaDB shard next to {make_url(self.mysql_url).host}: set "
                "CQRS_TEST_MYSQL_SHARD_URL (the native one is deploy/local/mariadb-shard.sh)"
            )
        return self.mysql_shard_url


def configuration() -> dict[str, Any]:
    path = Path(os.environ.get("CQRS_CONFIG") or ROOT / "configs" / "config.yaml")
    config: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return config


def _local_neighbour(mysql_url: str, variable: str, port_key: str, default: int) -> str | None:
    """`variable` when set, else the loopback server at `mysql_url` with the port
    `local.<port_key>` of the configuration; None for a primary elsewhere."""
    explicit = os.environ.get(variable)
    if explicit:
        return explicit
    url = make_url(mysql_url)
    if url.host not in ("127.0.0.1", "localhost"):
        return None
    port = (configuration().get("local") or {}).get(port_key, default)
    return url.set(port=int(port)).render_as_string(hide_password=False)


def replica_of(mysql_url: str) -> str | None:
    """The read replica of the primary at `mysql_url` (see the module's docstring)."""
    return _local_neighbour(mysql_url, "CQRS_TEST_MYSQL_REPLICA_URL", "mariadb_replica_port", 3307)


def shard_of(mysql_url: str) -> str | None:
    """The second event-store shard next to the primary at `mysql_url` (module docstring)."""
    return _local_neighbour(mysql_url, "CQRS_TEST_MYSQL_SHARD_URL", "mariadb_shard_port", 3316)


def _from_env() -> Endpoints | None:
    values = [os.environ.get(k) for k in ENV_KEYS]
    if not any(values):
        return None
    if not all(values):
        missing = [k for k, v in zip(ENV_KEYS, values, strict=True) if not v]
        raise RuntimeError(f"set all of {ENV_KEYS} or none; missing {missing}")
    mysql, mongo, kafka, redis = (str(v) for v in values)
    return Endpoints(
        mysql,
        mongo,
        kafka,
        redis,
        source="env",
        mysql_replica_url=replica_of(mysql),
        mysql_shard_url=shard_of(mysql),
    )


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


@contextmanager
def _containers() -> Iterator[Endpoints]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer
    from testcontainers.community.mysql import MySqlContainer
    from testcontainers.community.redis import RedisContainer

    with ExitStack() as stack:

        def mysql_server() -> MySqlContainer:
            return stack.enter_context(
                MySqlContainer("mysql:8.0", username="root", password="test", dialect="aiomysql")
            )

        mysql, shard = mysql_server(), mysql_server()  # the event store's shards 0 and 1
        mongo = stack.enter_context(MongoDbContainer("mongo:7"))
        kafka = stack.enter_context(KafkaContainer().with_kraft())
        redis = stack.enter_context(RedisContainer("redis:7"))
        host, port = mysql.get_container_host_ip(), mysql.get_exposed_port(3306)
        shard_host, shard_port = shard.get_container_host_ip(), shard.get_exposed_port(3306)
        yield Endpoints(
            mysql_url=f"mysql+aiomysql://root:test@{host}:{port}",
            mysql_shard_url=f"mysql+aiomysql://root:test@{shard_host}:{shard_port}",
            mongodb_uri=mongo.get_connection_url(),
            kafka_brokers=kafka.get_bootstrap_server(),
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            source="testcontainers",
        )


NATIVE_COMPONENTS = ("mariadb", "mariadb-replica", "mariadb-shard", "redis", "kafka", "readstore")


def _native() -> Endpoints:
    subprocess.run([str(ROOT / "deploy/local/infra.sh"), "up", *NATIVE_COMPONENTS], check=True)
    config = configuration()
    db = config["database"]["mysql"]
    mysql_url = f"mysql+aiomysql://{db['username']}:{db['password']}@{db['host']}:{db['port']}"
    return Endpoints(
        mysql_url=mysql_url,
        mysql_replica_url=replica_of(mysql_url),
        mysql_shard_url=shard_of(mysql_url),
        mongodb_uri=config["database"]["mongodb"]["uri"],
        kafka_brokers=",".join(config["kafka"]["brokers"]),
        redis_url=config["redis"]["url"],
        source="native",
    )


@contextmanager
def real_services() -> Iterator[Endpoints]:
    explicit = _from_env()
    if explicit is not None:
        yield explicit
    elif docker_answers():
        with _containers() as endpoints:
            yield endpoints
    else:
        yield _native()
