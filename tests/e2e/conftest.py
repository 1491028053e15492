"""The whole system, started as `just up` starts it, in a namespace of its own
(tests/support/system.py). Tests talk to the gateway only (and to each query replica's
WebSocket)."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.services import Endpoints
from tests.support.system import System, namespace, running_system


@pytest.fixture(scope="session")
async def e2e_env(endpoints: Endpoints, run_id: str) -> AsyncIterator[dict[str, str]]:
    """Settings environment for the e2e system: a migrated database, topics and a
    read-store database of its own, removed after the run."""
    async with namespace(endpoints, f"cqrs_e2e_{run_id}") as env:
        yield env


@pytest.fixture(scope="session")
def system(
    e2e_env: dict[str, str], run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    state = tmp_path_factory.mktemp("e2e-state")
    with running_system(e2e_env, run_id=run_id, label="e2e", state=state) as up:
        yield up


@pytest.fixture
async def gateway(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as client:
        yield client
