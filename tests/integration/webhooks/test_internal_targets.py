"""Webhooks cannot be pointed at internal services: refused at registration, and refused
again at delivery on the address actually connected to (a registration made when the
name pointed elsewhere, or before this rule, is dead-lettered, never delivered)."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from cqrs_contracts.webhooks import EventHandlerRegistration
from projector.entrypoints.http.app import create_app
from tests.integration.projector.helpers import email
from tests.integration.webhooks.conftest import HOOKS
from tests.integration.webhooks.receiver import Receiver, Route
from tests.support.polling import eventually


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3306/",  # MariaDB on this host
        "http://localhost:6379/",  # Redis, by name
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[::1]:27017/",
        "http://10.1.2.3/hook",
    ],
)
async def test_an_internal_receiver_is_refused_at_registration(
    new_settings: Callable[..., Settings], url: str
) -> None:
    async with AsyncTestClient(
        app=create_app(new_settings(CQRS__WEBHOOKS__ALLOWED_HOSTS=""))
    ) as admin:
        body = {"event_types": ["*"], "url": url, "secret": "s3cret-s3cret"}
        response = await admin.post(HOOKS, json=body)
        assert response.status_code == 422, response.text
        [field] = response.json()["error"]["details"]["fields"]
        assert (field["field"], field["rule"]) == ("url", "public_address")
        assert (await admin.get(HOOKS)).json()["items"] == []


async def test_a_stored_internal_receiver_is_dead_lettered_not_called(
    new_settings: Callable[..., Settings], receiver: Receiver, commands: AsyncTestClient
) -> None:
    path = f"/internal-{uuid.uuid4().hex[:6]}"
    receiver.routes[path] = Route("s3cret-s3cret")
    settings = new_settings(CQRS__WEBHOOKS__ALLOWED_HOSTS="")
    async with AsyncTestClient(app=create_app(settings)) as admin:
        webhooks: Any = admin.app.dependencies["container"].dependency().webhooks
        registration = EventHandlerRegistration(
            event_types=["UserCreated"], url=receiver.url(path), secret="s3cret-s3cret"
        )
        # stored past the API's check, in the app's own loop (as before this rule existed)
        handler = admin.blocking_portal.call(webhooks.registry.register, registration, "test")
        body = {"name": "Internal Ida", "email": email(), "age": 30}
        created = await commands.post(
            "/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
        )
        uid = created.json()["aggregate_id"]

        async def dead_letter() -> dict[str, Any] | None:
            items = (
                await admin.get(f"{HOOKS}/dead-letters", params={"handler_id": handler.id})
            ).json()["items"]
            return next((d for d in items if d["stream_id"] == uid), None)

        entry = await eventually(
            dead_letter, timeout=60, interval=0.2, what="the dead letter of the internal target"
        )
    assert "internal address" in entry["last_error"]
    assert receiver.at(path) == []  # not one request reached it
