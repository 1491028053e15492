"""The command-service and the projector configured with the real replica
(`database.mysql.replicas`): the events and commands APIs read it while it has what they
need, the primary when it does not; a projector fills gaps from it; the health of both
says degraded (200, not failing) when a replica is behind the bound or down."""

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.bootstrap import Container
from command_service.entrypoints.http.app import create_app as create_command_app
from cqrs_contracts.read_models import UserReadModel
from cqrs_contracts.settings import Settings
from cqrs_event_store.reader import EventReader
from cqrs_event_store.replicas import PRIMARY
from cqrs_read_store.writer import ViewStore
from projector.application.projector import Projector
from projector.entrypoints.http.app import create_app as create_projector_app
from tests.integration.replicas.conftest import Pair, ReplicaControl, replica_has
from tests.integration.replicas.events import append, user_events
from tests.support.polling import eventually

COMMANDS, EVENTS, HEALTH = "/api/v1/cqrs/commands", "/api/v1/cqrs/events", "/api/v1/cqrs/health"
MakeSettings = Callable[..., Settings]


def _container(app: Litestar) -> Container:
    provide = app.dependencies["container"]
    assert isinstance(provide, Provide)
    container: Container = provide.dependency()
    return container


@asynccontextmanager
async def command_service(
    make_settings: MakeSettings, replicas: str, max_lag: str = "5s"
) -> AsyncIterator[tuple[AsyncTestClient, Container]]:
    settings = make_settings(
        CQRS__DATABASE__MYSQL__REPLICAS=replicas,
        CQRS__DATABASE__MYSQL__MAX_REPLICA_LAG=max_lag,
        CQRS__DATABASE__MYSQL__REPLICA_PROBE_INTERVAL="50ms",
    )
    app = create_command_app(settings)
    async with AsyncTestClient(app=app) as client:
        yield client, _container(app)


def _host_port(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send(client: AsyncTestClient, type_: str, **data: Any) -> dict[str, Any]:
    response = await client.post(COMMANDS, json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _probed_until(
    client: AsyncTestClient, accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first health report `accept` takes (each status 200: replicas only degrade).
    Each report probes the replicas afresh when the last probe is older than the
    interval, in the app's own loop (where its engines live)."""

    async def probe() -> dict[str, Any]:
        response = await client.get(HEALTH)
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report

    return await eventually(probe, timeout=20, what="a health report", accept=accept)


async def test_the_events_api_reads_the_replica_unless_it_lacks_the_position_asked_for(
    make_settings: MakeSettings, replica_url: str, replica_control: ReplicaControl, run_id: str
) -> None:
    name = _host_port(replica_url)
    async with command_service(make_settings, name) as (client, container):
        settings = container.settings.database.mysql
        replica = create_async_engine(make_url(replica_url).set(database=settings.database))
        created = await _send(
            client, "CreateUser", name="Replica", age=30, email=f"{uuid.uuid4().hex}@x.io"
        )
        user, first = created["aggregate_id"], created["events"][0]["position"]
        await replica_has(replica, first)
        await _probed_until(client, lambda r: r["checks"]["replicas"][name]["reached"] >= first)
        listed = await client.get(EVENTS, params={"aggregate_id": user, "from_position": first})
        assert [e["position"] for e in listed.json()["items"]] == [first]
        assert container.replicas.served == {name: 1}

        await replica_control.stop_applying()
        updated = await _send(client, "UpdateUser", id=user, age=41)
        second, event_id = updated["events"][0]["position"], updated["events"][0]["event_id"]
        listed = await client.get(EVENTS, params={"aggregate_id": user, "from_position": second})
        assert [e["position"] for e in listed.json()["items"]] == [second]  # the primary's
        assert container.replicas.served[PRIMARY] == 1
        assert (await client.get(f"{EVENTS}/{event_id}")).status_code == 200  # primary too
        assert (await client.get(COMMANDS, params={"limit": 1})).status_code == 200
        assert container.replicas.served[name] == 2  # within the lag bound: the replica
        await replica.dispose()


async def test_command_service_health_degrades_while_the_replica_is_behind_the_bound(
    make_settings: MakeSettings, replica_url: str, replica_control: ReplicaControl
) -> None:
    name = _host_port(replica_url)
    async with command_service(make_settings, name, max_lag="300ms") as (client, container):
        await _probed_until(client, lambda r: r["status"] == "healthy")
        await replica_control.stop_applying()
        await _send(client, "CreateUser", name="Lagging", age=30, email=f"{uuid.uuid4().hex}@x.io")
        body = await _probed_until(client, lambda report: report["status"] == "degraded")
        assert "behind" in body["checks"]["replicas"]["error"]
        assert (await client.get(COMMANDS, params={"limit": 1})).status_code == 200
        assert container.replicas.served == {PRIMARY: 1}  # the bound skips it


async def test_both_services_say_degraded_when_a_replica_is_down(
    make_settings: MakeSettings, mongo_client: AsyncMongoClient[Any], run_id: str
) -> None:
    down = f"127.0.0.1:{_closed_port()}"
    async with command_service(make_settings, down) as (client, _):
        response = await client.get(HEALTH)
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["replicas"]["status"] == "down"

    own_db = f"cqrs_test_{run_id}_rp{uuid.uuid4().hex[:6]}"
    settings = make_settings(
        CQRS__DATABASE__MYSQL__REPLICAS=down,
        KAFKA_GROUP_ID=f"projector-{own_db}",
        MONGODB_DB=own_db,  # its projections land in a read store of its own
    )
    try:
        async with AsyncTestClient(app=create_projector_app(settings)) as projector:
            response = await projector.get(HEALTH)
            body = response.json()
            assert response.status_code == 200, body
            assert body["status"] == "degraded", body
            assert body["checks"]["replicas"]["status"] == "down"
            assert down in body["checks"]["replicas"]["error"]
    finally:
        await mongo_client.drop_database(own_db)


async def test_a_projector_fills_a_gap_from_the_replica(
    pair: Pair,
    replica_control: ReplicaControl,
    mongo_client: AsyncMongoClient[Any],
    mongo_database: str,
) -> None:
    user = str(uuid.uuid4())
    stream = user_events(user, range(1, 4))
    top = await append(pair.primary, stream)
    await replica_has(pair.replica, top)
    router = pair.router()
    state = (await router.refresh())[pair.replica_name]
    views = ViewStore(mongo_client[mongo_database], suffix=f"_rp{uuid.uuid4().hex[:8]}")
    reader = EventReader(pair.primary, None, router)
    projector = Projector(views=[views], history=reader, notifier=None)
    try:
        await projector.handle(stream[-1])  # versions 1 and 2 never arrived: a gap
        doc, _ = await views.load(UserReadModel, user)
        assert isinstance(doc, UserReadModel)
        assert doc.name == "v3"
        assert set(router.served) == {pair.replica_name}  # the primary was never asked
        assert (state.port, state.server_id) == await replica_control.server()
    finally:
        await views.drop_all()
        await router.close()
