"""The projector under failure: kill -9 mid-stream and restart, and a rebuild of a live
system; both must end exactly equal to a clean replay of the event store."""

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from cqrs_contracts.read_models import READ_MODELS, UserReadModel
from cqrs_contracts.settings import Settings
from cqrs_event_store.reader import EventReader
from cqrs_read_store.writer import ViewStore
from projector.application.consistency import Report, check
from projector.bootstrap import build, close, make_rebuild
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess

COMMANDS = "/api/v1/cqrs/commands"


async def send(commands: AsyncTestClient, type_: str, **data: Any) -> str:
    response = await commands.post(COMMANDS, json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    return str(response.json()["aggregate_id"])


async def shop(commands: AsyncTestClient, rounds: int) -> None:
    """A user with an order, a payment and a refund per round."""
    for _ in range(rounds):
        uid = await send(
            commands, "CreateUser", name="Load", email=f"{uuid.uuid4().hex}@x.io", age=30
        )
        oid = await send(commands, "CreateOrder", user_id=uid, amount="50.00", currency="USD")
        pid = await send(
            commands, "ProcessPayment", order_id=oid, amount="20", currency="USD", method="wallet"
        )
        await send(commands, "RefundPayment", payment_id=pid, amount="5")
        await send(commands, "UpdateUser", id=uid, age=31)


async def documents(views: ViewStore) -> int:
    return sum([len(await views.all_ids(model)) for model in READ_MODELS.values()])


async def converged(views: ViewStore, events: EventReader, timeout: float = 180) -> Report:
    """The consistency report once the read models equal a clean replay (failing after
    `timeout` seconds, naming the last report). A projector of a new group reads the
    run's whole topic, every earlier test's events (and poison events) included, and
    each check replays the whole event store: late in a full run that takes minutes."""

    async def report() -> Report:
        return await check(views, events)

    return await eventually(
        report,
        timeout=timeout,
        interval=1,
        accept=lambda r: r.consistent,
        what="the read models to equal a replay of the event store",
    )


@pytest.mark.timeout(360)  # converged: see its docstring
async def test_kill_9_mid_stream_then_restart_converges(
    commands: AsyncTestClient,
    service_env: dict[str, str],
    run_id: str,
    mongo_client: AsyncMongoClient,
    mongo_database: str,
    event_source: EventReader,
    tmp_path: Path,
) -> None:
    read_db = f"{mongo_database}_kill"
    env = {
        **service_env,
        "MONGODB_DB": read_db,
        "KAFKA_GROUP_ID": f"projector-kill-{run_id}",
        "CQRS__REDIS__PREFIX": f"test:{run_id}:kill",
    }
    projector = ServiceProcess("projector", env, tmp_path / "projector.log")
    views = ViewStore(mongo_client[read_db])
    try:
        await projector.start()
        load = asyncio.create_task(shop(commands, 30))

        async def seen() -> int:
            return await documents(views)

        await eventually(seen, timeout=60, accept=lambda n: n >= 20, what="20 documents")
        projector.kill()
        seen_at_kill = await documents(views)
        await load
        # events the dead projector cannot have seen: late in a full run a new group's
        # projector may have drained the whole topic by the time 20 documents show
        await shop(commands, 3)
        assert not (await check(views, event_source)).consistent, "the kill must land mid-stream"
        await projector.start()
        report = await converged(views, event_source)
    finally:
        projector.stop()
        await mongo_client.drop_database(read_db)
    assert seen_at_kill >= 20
    assert report.consistent, report.different[:3] or report.missing[:5] or report.extra[:5]
    assert report.documents >= 33 * 5


async def test_rebuild_under_load_switches_with_no_downtime(
    commands: AsyncTestClient,
    projector_admin: AsyncTestClient,
    projector_settings: Settings,
    event_source: EventReader,
) -> None:
    await shop(commands, 5)
    container = build(projector_settings)
    views = container.views
    probe_id = (await views.all_ids(UserReadModel))[0]
    misses = 0
    stop = asyncio.Event()

    async def read_continuously() -> None:
        nonlocal misses
        while not stop.is_set():
            doc, _ = await views.load(UserReadModel, probe_id)
            misses += doc is None
            await asyncio.sleep(0.01)

    reader = asyncio.create_task(read_continuously())
    load = asyncio.create_task(shop(commands, 10))
    rebuild = make_rebuild(container)
    rebuild.settle_seconds = 1.5
    switched: list[bool] = []

    async def on_switched() -> None:
        switched.append(True)

    try:
        replayed = await rebuild.run(lambda done, total: None, on_switched)
        await load
        report = await converged(views, event_source)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await reader
        names = await container.mongo[
            projector_settings.database.mongodb.database
        ].list_collection_names()
        await close(container)
    assert switched == [True]
    assert replayed > 0
    assert misses == 0, "readers saw the document missing during the switch"
    # this rebuild's staging set is gone (another test's rebuild is its own business)
    assert not [n for n in names if n.endswith(rebuild.staging.suffix)], names
    assert report.consistent, report.different[:3] or report.missing[:5] or report.extra[:5]
