"""Snapshots every N events: written at the right version, and a later command decides
correctly from snapshot + tail."""

from collections.abc import Callable
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import Settings
from cqrs_event_store.privacy.cipher import is_sealed
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.tables import snapshots
from tests.integration.command_service.helpers import (
    accept,
    command,
    create_user,
    error_of,
    unique_email,
)


async def snapshot_of(engine: AsyncEngine, stream_id: str) -> Row[Any] | None:
    async with engine.connect() as conn:
        query = select(snapshots).where(snapshots.c.stream_id == stream_id)
        return (await conn.execute(query)).first()


async def test_snapshot_every_3_events_and_decisions_from_snapshot_plus_tail(
    make_settings: Callable[..., Settings], mysql_engine: AsyncEngine
) -> None:
    settings = make_settings(CQRS__COMMAND_SERVICE__SNAPSHOT_EVERY="3")
    async with AsyncTestClient(app=create_app(settings)) as c:
        email = unique_email()
        user_id = (await create_user(c, name="Snap Shot", email=email, age=20))["aggregate_id"]
        assert await snapshot_of(mysql_engine, user_id) is None
        for age in range(21, 28):  # seven updates: versions 2..8
            await accept(c, "UpdateUser", {"id": user_id, "age": age})

        snap = await snapshot_of(mysql_engine, user_id)
        assert snap is not None
        assert (snap.stream_type, snap.version) == ("user", 6)  # the latest multiple of 3
        assert is_sealed(snap.state["name"])
        assert is_sealed(snap.state["email"])  # personal fields: sealed, as in the events
        keys = KeyRing(mysql_engine, master_key_from(settings.privacy))
        assert await keys.reveal_data(snap.state) == {
            "user_id": user_id,
            "name": "Snap Shot",
            "email": email,
            "age": 25,  # the age set by version 6
            "deleted": False,
            "forgotten": False,
        }

        same = {"id": user_id, "name": "Snap Shot", "email": email, "age": 27}
        assert error_of(await command(c, "UpdateUser", same), 409)["code"] == "nothing_to_change"

        answer = await accept(c, "UpdateUser", {"id": user_id, "age": 60})
        assert answer["version"] == 9
        latest = await snapshot_of(mysql_engine, user_id)
        assert latest is not None
        assert latest.version == 9

        await accept(c, "DeleteUser", {"id": user_id})
        gone = await command(c, "UpdateUser", {"id": user_id, "age": 61})
        assert error_of(gone, 409)["code"] == "user_deleted"
