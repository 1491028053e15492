"""A rebuild started over HTTP (the console's button): 202 at once, its progress readable
while it runs, then succeeded with every event replayed; a second start while one runs
is a 409 in the error shape; the read models are whole afterwards."""

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.projector.helpers import email, send
from tests.support.polling import eventually

REBUILD = "/api/v1/cqrs/projections/rebuild"


async def test_a_rebuild_started_over_http_reports_progress_and_completes(
    commands: AsyncTestClient, projector_admin: AsyncTestClient, queries: AsyncTestClient
) -> None:
    uid = await send(commands, "CreateUser", name="Rebuilt", email=email(), age=40)
    await send(commands, "UpdateUser", user_id=uid, name="Rebuilt twice")

    started = await projector_admin.post(REBUILD)
    again = await projector_admin.post(REBUILD)

    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running"
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await projector_admin.get(REBUILD)).json()
        return job if job["state"] != "running" else None

    job = await eventually(finished, timeout=120, what="the rebuild to finish", interval=0.2)
    assert job["state"] == "succeeded", job
    assert job["events"] >= 2
    assert job["done"] == job["total"] >= job["events"] > 0
    assert job["finished_at"] >= job["started_at"]
    user = await queries.get(f"/api/v1/cqrs/read-models/{uid}", params={"type": "UserReadModel"})
    assert user.status_code == 200, user.text
    assert user.json()["data"]["name"] == "Rebuilt twice"
