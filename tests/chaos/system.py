"""The whole system as real OS processes on the private servers: command-service (Granian,
no relay inside), the outbox relay on its own, the projector and the query-service. Each
can be killed with kill -9 and started again on the same port."""

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cqrs_contracts.settings import Settings
from tests.support.processes import BIN, ServiceProcess
from tests.support.services import Endpoints
from tests.support.settings import settings_env, settings_for


@dataclass(frozen=True)
class Namespace:
    """One chaos run's database, topic, read-store database, group and Redis prefix."""

    run_id: str

    @property
    def database(self) -> str:
        return f"cqrs_chaos_{self.run_id}"  # the private MariaDB grants cqrs% to the user

    @property
    def topic(self) -> str:
        return f"cqrs-events-chaos-{self.run_id}"

    @property
    def read_database(self) -> str:
        return f"cqrs_chaos_{self.run_id}"

    @property
    def redis_prefix(self) -> str:
        return f"chaos:{self.run_id}"


def system_env(
    config: Path, endpoints: Endpoints, ns: Namespace, *, shards: bool = False
) -> dict[str, str]:
    """The processes' environment; with `shards`, the event store on both private shards
    (the namespace's database exists, migrated, on each)."""
    return {
        "CQRS_CONFIG": str(config),
        **settings_env(endpoints, ns.database, ns.topic, ns.read_database, shards=shards),
        "KAFKA_GROUP_ID": f"projector-{ns.run_id}",
        "CQRS__REDIS__PREFIX": ns.redis_prefix,
        "CQRS__COMMAND_SERVICE__RELAY_ENABLED": "false",  # the relay runs on its own
        "CQRS__COMMAND_SERVICE__MAX_APPEND_RETRIES": "60",  # many writers on few streams
        "CQRS__PROJECTOR__RETRY_BACKOFF": "0.05",
        "CQRS__LOGGING__ACCESS_LOG": "false",
    }


class RelayProcess(ServiceProcess):
    """`command-service relay`: no HTTP; up once it has run for a moment."""

    async def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / "command-service"), "relay"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        await asyncio.sleep(1)
        if self.proc.poll() is not None:
            raise RuntimeError(f"the relay exited; see {self.log_path}")


class System:
    """The four processes, by the names the scenario kills them by."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.processes: dict[str, ServiceProcess] = {
            "command-service": ServiceProcess("command-service", env, logs / "command.log"),
            "relay": RelayProcess("command-service", env, logs / "relay.log"),
            "projector": ServiceProcess("projector", env, logs / "projector.log"),
            "query-service": ServiceProcess("query-service", env, logs / "query.log"),
        }

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    @property
    def settings(self) -> Settings:
        """The settings every process runs with (its config file and environment): the
        audit reveals the event store with the same master key."""
        return settings_for(self.env)

    @property
    def command_url(self) -> str:
        return self["command-service"].url

    @property
    def query_url(self) -> str:
        return self["query-service"].url

    async def start(self) -> None:
        for process in self.processes.values():
            await process.start()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
