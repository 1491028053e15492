"""Two projector processes in one consumer group split the partitions and together
build the same read models as a clean replay; a backlog is taken in batches; the status
page shows offsets, lag, positions and the rebuild state."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from cqrs_contracts.settings import Settings
from cqrs_event_store.reader import EventReader
from cqrs_read_store.writer import ViewStore
from projector.adapters.rebuild_control import RebuildControl
from tests.integration.projector.test_crash_and_rebuild import converged, shop
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess

STATUS = "/api/v1/cqrs/projections"


def own_read_side(service_env: dict[str, str], run_id: str, name: str) -> dict[str, str]:
    """Environment for projectors with their own group, read-store database and keys."""
    return {
        **service_env,
        "MONGODB_DB": f"cqrs_test_{run_id}_{name}",
        "KAFKA_GROUP_ID": f"projector-{name}-{run_id}",
        "CQRS__REDIS__PREFIX": f"test:{run_id}:{name}",
    }


async def status_of(process: ServiceProcess) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(process.url + STATUS)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def settled(process: ServiceProcess, last_position: int) -> dict[str, Any]:
    """The status once the process has stored every event up to `last_position` (failing
    after 30 seconds)."""

    def stored(status: dict[str, Any]) -> bool:
        projection = status["projections"]["UserReadModel"]
        return bool(projection["last_position"] >= last_position and projection["lag"] == 0)

    return await eventually(
        lambda: status_of(process),
        timeout=30,
        interval=0.1,
        accept=stored,
        what=f"the projector to store every event up to {last_position}",
    )


@pytest.mark.timeout(360)  # converged: see its docstring
async def test_two_projectors_split_the_partitions_and_build_the_same_read_models(
    commands: AsyncTestClient,
    service_env: dict[str, str],
    run_id: str,
    mongo_client: AsyncMongoClient,
    event_source: EventReader,
    tmp_path: Path,
) -> None:
    env = own_read_side(service_env, run_id, "pair")
    pair = [ServiceProcess("projector", env, tmp_path / f"projector-{i}.log") for i in (1, 2)]
    views = ViewStore(mongo_client[env["MONGODB_DB"]])
    try:
        for process in pair:
            await process.start()
        before = await both_consuming(commands, pair)  # the group has settled on two members
        await shop(commands, 20)
        report = await converged(views, event_source)
        after = [await status_of(p) for p in pair]
    finally:
        for process in pair:
            process.stop()
        await mongo_client.drop_database(env["MONGODB_DB"])

    assert report.consistent, report.different[:3] or report.missing[:5] or report.extra[:5]
    assert report.documents >= 20 * 5
    advanced = [moved(b, a) for b, a in zip(before, after, strict=True)]
    assert all(advanced), f"each projector must have consumed partitions: {advanced}"
    assert not advanced[0] & advanced[1], f"a partition was consumed by both: {advanced}"
    assert advanced[0] | advanced[1] == {"0", "1", "2"}


def offsets(status: dict[str, Any]) -> dict[str, int]:
    partitions = status["projections"]["UserReadModel"]["partitions"]
    return {number: state["offset"] for number, state in partitions.items()}


def moved(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The partitions a projector consumed between two statuses."""
    start = offsets(before)
    return {p for p, offset in offsets(after).items() if offset > start.get(p, -1)}


async def both_consuming(
    commands: AsyncTestClient, pair: list[ServiceProcess]
) -> list[dict[str, Any]]:
    """Send commands until both projectors have consumed something and, between them,
    every partition: the consumer group has settled. Their statuses then."""

    async def owned() -> list[set[str]]:
        await shop(commands, 1)
        return [set(offsets(await status_of(p))) for p in pair]

    await eventually(
        owned,
        timeout=60,
        interval=0.5,
        accept=lambda owned: all(owned) and owned[0] | owned[1] == {"0", "1", "2"},
        what="the group to settle on two consuming members",
    )
    await asyncio.sleep(1)  # the last of the warm-up is stored
    return [await status_of(p) for p in pair]


@pytest.mark.timeout(360)  # converged: see its docstring
async def test_a_backlog_is_taken_in_batches_and_the_status_shows_no_lag(
    commands: AsyncTestClient,
    service_env: dict[str, str],
    run_id: str,
    mongo_client: AsyncMongoClient,
    event_source: EventReader,
    tmp_path: Path,
) -> None:
    await shop(commands, 20)  # 100 events waiting before this group's projector starts
    last_position = await event_source.max_position()
    env = own_read_side(service_env, run_id, "backlog")
    projector = ServiceProcess("projector", env, tmp_path / "projector.log")
    views = ViewStore(mongo_client[env["MONGODB_DB"]])
    try:
        await projector.start()
        report = await converged(views, event_source)
        status = await settled(projector, last_position)
    finally:
        projector.stop()
        await mongo_client.drop_database(env["MONGODB_DB"])

    assert report.consistent, report.different[:3] or report.missing[:5] or report.extra[:5]
    assert status["processed"] >= 100
    assert status["batches"] < status["processed"], "the backlog must arrive in batches"
    projection = status["projections"]["OrderPaymentReadModel"]
    assert projection["last_position"] >= last_position
    assert projection["lag"] == 0
    assert set(projection["partitions"]) == {"0", "1", "2"}
    for partition in projection["partitions"].values():
        assert partition["high_water"] == partition["offset"] + 1
    assert projection["rebuild"] == {"running": False}


async def test_the_status_shows_a_rebuild_under_way(
    projector_admin: AsyncTestClient,
    projector_settings: Settings,
    mongo_client: AsyncMongoClient,
) -> None:
    control = RebuildControl(mongo_client[projector_settings.database.mongodb.database])
    await control.begin("__rebuild_status_probe")
    try:
        during = (await projector_admin.get(STATUS)).json()
    finally:
        await control.end()
        await control.discard("__rebuild_status_probe")
    after = (await projector_admin.get(STATUS)).json()

    rebuild = during["projections"]["UserReadModel"]["rebuild"]
    assert rebuild["running"] is True
    assert rebuild["staging_suffix"] == "__rebuild_status_probe"
    assert rebuild["started_at"]
    assert after["projections"]["UserReadModel"]["rebuild"] == {"running": False}


async def test_liveness_says_the_consumer_runs(projector_admin: AsyncTestClient) -> None:
    response = await projector_admin.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "projector", "consumer": "running"}
