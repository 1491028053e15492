"""The real MariaDB read replica of the test primary (deploy/local/mariadb-replica.sh):
a migrated event store of this test's own on the primary, the same database as the
replica sees it, and root control of the replica's SQL thread (to make it lag for real).

The replica is shared by every run on this machine: each test holds a named lock on it
(GET_LOCK), so that one run's stopped SQL thread never meets another run's test."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from command_service.migrations import upgrade_to_head
from cqrs_event_store.replicas import ReadRouter, Replica
from tests.support.polling import eventually
from tests.support.services import Endpoints, configuration

LOCK = "cqrs_test_replica"
LOCK_WAIT_SECONDS = 300


@pytest.fixture(scope="session")
def replica_url(endpoints: Endpoints) -> str:
    """The replica's server URL (no database); a run without one fails here, loudly."""
    if endpoints.mysql_replica_url is None:
        pytest.fail(
            f"no MariaDB replica for {endpoints.source} services: start deploy/local/"
            "mariadb-replica.sh or set CQRS_TEST_MYSQL_REPLICA_URL"
        )
    return endpoints.mysql_replica_url


@dataclass
class ReplicaControl:
    """Root on the replica: its replication threads and what it reports."""

    conn: AsyncConnection

    async def stop_applying(self) -> None:
        """The replica keeps receiving the binlog but applies nothing: it lags."""
        await self.conn.execute(text("STOP SLAVE SQL_THREAD"))

    async def resume(self) -> None:
        await self.conn.execute(text("START SLAVE SQL_THREAD"))

    async def server(self) -> tuple[int, int]:
        port, server_id = (await self.conn.execute(text("SELECT @@port, @@server_id"))).one()
        return int(port), int(server_id)


@pytest.fixture
async def replica_control(replica_url: str) -> AsyncIterator[ReplicaControl]:
    """Root on the replica for this test, holding the replicas' test lock; the SQL
    thread is running again after the test, whatever it did."""
    root_password = (configuration().get("local") or {}).get(
        "mariadb_root_password", "cqrs_root_password"
    )
    url = make_url(replica_url).set(username="root", password=str(root_password))
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        locked = await conn.scalar(
            text("SELECT GET_LOCK(:n, :w)"), {"n": LOCK, "w": LOCK_WAIT_SECONDS}
        )
        assert locked == 1, "another run held the replica's test lock too long"
        control = ReplicaControl(conn)
        try:
            yield control
        finally:
            await control.resume()
            await conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": LOCK})
    await engine.dispose()


@dataclass(frozen=True)
class Pair:
    """One database as the primary and as its replica see it."""

    name: str
    primary: AsyncEngine
    replica: AsyncEngine
    replica_name: str  # host:port, as a router names it

    def router(self, max_lag: float = 5.0, probe_interval: float = 0.05) -> ReadRouter:
        return ReadRouter(
            self.primary,
            [Replica(self.replica_name, self.replica)],
            max_lag=max_lag,
            probe_interval=probe_interval,
        )


async def replica_has(replica: AsyncEngine, position: int, timeout: float = 30) -> None:
    """Wait until the replica's store at `replica` holds the event at `position` (or a
    later one)."""

    async def top() -> int:
        async with replica.connect() as conn:
            return int(await conn.scalar(text("SELECT COALESCE(MAX(position), 0) FROM events")))

    await eventually(
        top,
        timeout=timeout,
        what=f"the replica to hold position {position} in {replica.url.database}",
        accept=lambda found: found >= position,
        ignoring=(DBAPIError,),  # the database or its tables have not arrived yet
    )


@pytest.fixture
async def pair(
    endpoints: Endpoints, replica_url: str, replica_control: ReplicaControl, run_id: str
) -> AsyncIterator[Pair]:
    """A migrated event store of this test's own on the primary, and the replica's copy
    of it (waited for: the database and its tables arrive by replication)."""
    name = f"cqrs_test_{run_id}_rp{uuid.uuid4().hex[:6]}"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    await asyncio.to_thread(upgrade_to_head, f"{endpoints.mysql_url}/{name}")
    replica_server = make_url(replica_url)
    found = Pair(
        name,
        create_async_engine(f"{endpoints.mysql_url}/{name}"),
        create_async_engine(replica_server.set(database=name)),
        f"{replica_server.host}:{replica_server.port}",
    )
    await replica_has(found.replica, 0)  # the tables exist there
    yield found
    for engine in (found.primary, found.replica):
        await engine.dispose()
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await server.dispose()
