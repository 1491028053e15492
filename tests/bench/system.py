"""A private copy of the system for one benchmark run: its own database, topic, read
store and Redis prefix on the local services, and the services as real processes. With
`shards`, the run's database is also made (and migrated) on the event store's second
shard server, under the same name, as every shard of an event store has it."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.migrations import upgrade_to_head
from tests.support.processes import ServiceProcess
from tests.support.services import Endpoints, real_services
from tests.support.settings import settings_env, shard_address

LOGS = Path("bench-results/logs")


@dataclass
class BenchSystem:
    endpoints: Endpoints
    run: str
    env: dict[str, str]
    mysql_url: str
    baseline_mysql_url: str  # a second migrated database for the bare-SQL baseline
    shard_mysql_url: str | None = None  # the run's database on shard 1's server, if made
    processes: list[ServiceProcess] = field(default_factory=list)

    async def start(self, script: str, **extra_env: str) -> ServiceProcess:
        LOGS.mkdir(parents=True, exist_ok=True)
        process = ServiceProcess(
            script, {**self.env, **extra_env}, LOGS / f"{script}-{len(self.processes)}.log"
        )
        await process.start()
        self.processes.append(process)
        return process

    @property
    def event_store_urls(self) -> list[str]:
        """The run's event-store database on every shard made: shard 0, then shard 1."""
        return [self.mysql_url, *([self.shard_mysql_url] if self.shard_mysql_url else [])]

    def two_shards_env(self) -> dict[str, str]:
        """The environment that puts a service's event store on both shards."""
        if self.shard_mysql_url is None:
            raise RuntimeError("this bench run made no database on the shard server")
        return {"CQRS__DATABASE__MYSQL__SHARDS": shard_address(self.endpoints)}

    def stop(self, process: ServiceProcess) -> None:
        process.stop()
        self.processes.remove(process)


async def _create_database(server_url: str, name: str) -> str:
    engine = create_async_engine(server_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    await engine.dispose()
    url = f"{server_url}/{name}"
    await asyncio.to_thread(upgrade_to_head, url)
    return url


async def _drop_database(server_url: str, name: str) -> None:
    engine = create_async_engine(server_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await engine.dispose()


@contextlib.asynccontextmanager
async def bench_system(shards: bool = False) -> AsyncIterator[BenchSystem]:
    run = uuid.uuid4().hex[:8]
    with real_services() as endpoints:
        db, topic, read_db = f"cqrs_bench_{run}", f"cqrs-events-bench-{run}", f"cqrs_bench_{run}"
        shard_server = endpoints.shard_url() if shards else None  # raises when there is none
        mysql_url = await _create_database(endpoints.mysql_url, db)
        baseline_url = await _create_database(endpoints.mysql_url, f"{db}_base")
        shard_url = await _create_database(shard_server, db) if shard_server else None
        admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
        await admin.start()
        topics = [
            NewTopic(t, num_partitions=3, replication_factor=1) for t in (topic, f"{topic}.dlq")
        ]
        await admin.create_topics(topics)
        env = settings_env(endpoints, db, topic, read_db) | {
            "KAFKA_GROUP_ID": f"projector-bench-{run}",
            "CQRS__REDIS__PREFIX": f"bench:{run}",
            "CQRS__SECURITY__RATE_LIMITS__ENABLED": "false",
        }
        system = BenchSystem(endpoints, run, env, mysql_url, baseline_url, shard_url)
        try:
            yield system
        finally:
            for process in system.processes:
                process.stop()
            await admin.delete_topics([t.name for t in topics])
            await admin.close()
            await _drop_database(endpoints.mysql_url, db)
            await _drop_database(endpoints.mysql_url, f"{db}_base")
            if shard_server:
                await _drop_database(shard_server, db)
            mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
            await mongo.drop_database(read_db)
            await mongo.close()
