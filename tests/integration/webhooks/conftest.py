"""A projector of its own for webhook tests (its own consumer groups, read-store database
and Redis prefix, quick retries) on this run's topic, fed by the real command-service;
and a real HTTP receiver that checks every signature."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from cqrs_contracts.settings import Settings
from projector.entrypoints.http.app import create_app
from tests.integration.webhooks.receiver import Receiver, Route
from tests.support.services import Endpoints

HOOKS = "/api/v1/cqrs/handlers/events"
SECRET = "a-webhook-secret-0001"


@pytest.fixture(scope="module")
async def new_settings(
    make_settings: Callable[..., Settings], run_id: str, endpoints: Endpoints
) -> AsyncIterator[Callable[..., Settings]]:
    """Makes settings for a projector with its own groups, database and prefix (each call
    a new one); keyword overrides as env names. The databases are dropped after."""
    made: list[str] = []

    def make(**overrides: str) -> Settings:
        suffix = uuid.uuid4().hex[:6]
        made.append(f"cqrs_test_{run_id}_wh{suffix}")
        return make_settings(
            KAFKA_GROUP_ID=f"wh-{run_id}-{suffix}",
            MONGODB_DB=made[-1],
            CQRS__REDIS__PREFIX=f"test:{run_id}:wh{suffix}",
            CQRS__PROJECTOR__RETRY_BACKOFF="0.05",
            CQRS__WEBHOOKS__MAX_ATTEMPTS="3",
            CQRS__WEBHOOKS__RETRY_BASE_DELAY="0.05",
            CQRS__WEBHOOKS__RETRY_MAX_DELAY="0.2",
            CQRS__WEBHOOKS__TIMEOUT="5",
            **({"CQRS__WEBHOOKS__ALLOWED_HOSTS": "127.0.0.1"} | overrides),  # the receiver
        )

    yield make
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
    for name in made:
        await client.drop_database(name)
    await client.close()


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


@pytest.fixture(scope="module")
async def hooks_admin(new_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient]:
    """The projector app (consumer, webhook delivery, admin routes) for a test module."""
    async with AsyncTestClient(app=create_app(new_settings())) as client:
        yield client


@dataclass
class Hooks:
    """Registers handlers pointing at the receiver; removes what is left after a test."""

    admin: AsyncTestClient
    receiver: Receiver
    ids: list[str] = field(default_factory=list)

    async def add(self, path: str, *types: str, secret: str = SECRET, **route: int) -> str:
        self.receiver.routes[path] = Route(secret, **route)
        body = {"event_types": list(types), "url": self.receiver.url(path), "secret": secret}
        response = await self.admin.post(
            HOOKS, json={**body, "name": path}, headers={"X-Actor": "ops-alice"}
        )
        assert response.status_code == 201, response.text
        self.ids.append(response.json()["id"])
        return self.ids[-1]

    async def listed(self) -> dict[str, dict[str, Any]]:
        response = await self.admin.get(HOOKS)
        assert response.status_code == 200, response.text
        return {h["id"]: h for h in response.json()["items"]}


@pytest.fixture
async def hooks(hooks_admin: AsyncTestClient, receiver: Receiver) -> AsyncIterator[Hooks]:
    made = Hooks(hooks_admin, receiver)
    yield made
    for handler_id in made.ids:
        await hooks_admin.delete(f"{HOOKS}/by-id/{handler_id}")
