"""What the middleware stack must not cost: no route of any service runs a guard, a
dependency or its handler in a worker thread; the rate limit is one counter in Redis that
every replica shares; the metrics still count every request by route and status."""

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from litestar import Litestar
from litestar._asgi.utils import get_route_handlers
from litestar.testing import AsyncTestClient
from litestar.utils.sync import AsyncCallable

from cqrs_contracts.settings import Settings
from tests.integration.platform.shapes import assert_error
from tests.integration.platform.tokens import bearer, token

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]


def thread_hops(app: Litestar) -> list[str]:
    """Every callable Litestar would run through sync_to_thread on a request."""
    hooks = (*app.before_send, *app.after_exception)
    hops = [f"app hook {h.func}" for h in hooks if isinstance(h, AsyncCallable)]
    for route in app.routes:
        for handler in get_route_handlers(route):
            where = f"{route.path} {getattr(handler, 'http_methods', 'websocket')}"
            if isinstance(getattr(handler, "_fn", None), AsyncCallable):
                hops.append(f"{where}: handler")
            hops += [
                f"{where}: guard {g.func}"
                for g in handler.resolve_guards()
                if isinstance(g, AsyncCallable)
            ]
            hops += [
                f"{where}: dependency {name}"
                for name, provide in handler.resolve_dependencies().items()
                if isinstance(provide.dependency, AsyncCallable)
            ]
    return hops


@pytest.mark.parametrize("service", ["command", "projector", "query"])
async def test_no_request_hops_to_a_worker_thread(
    secured_settings: Settings,
    command_app: AppFactory,
    projector_app: AppFactory,
    query_app: AppFactory,
    service: str,
) -> None:
    factory = {"command": command_app, "projector": projector_app, "query": query_app}[service]
    async with factory(secured_settings) as client:
        assert thread_hops(client.app) == []


async def test_the_rate_limit_is_one_budget_across_replicas(
    secured: Callable[..., Settings], command_app: AppFactory, run_id: str
) -> None:
    settings = secured(
        CQRS__SECURITY__RATE_LIMITS__ENABLED="true",
        CQRS__SECURITY__RATE_LIMITS__COMMANDS="3",
        CQRS__REDIS__PREFIX=f"test:{run_id}:replicas:{uuid.uuid4().hex[:6]}",
    )
    caller = bearer(token(settings, ["reader"], sub=f"shared-{uuid.uuid4().hex[:8]}"))
    path = "/api/v1/cqrs/commands"
    async with command_app(settings) as first, command_app(settings) as second:
        answers = [await first.get(path, headers=caller) for _ in range(2)]
        answers.append(await second.get(path, headers=caller))
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        assert answers[0].headers["ratelimit-limit"] == "3"
        refused = await first.get(path, headers=caller)
        assert_error(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["retry-after"]) <= 60
        # another route group has a budget of its own; public routes have none
        assert (await second.get("/api/v1/cqrs/stats", headers=caller)).status_code == 200
        assert (await second.get("/health")).status_code == 200


async def test_metrics_count_requests_by_route_and_status(
    secured_settings: Settings, command_app: AppFactory
) -> None:
    def count(text: str, path: str, status: int) -> float:
        for line in text.splitlines():
            if line.startswith("cqrs_requests_total{") and (
                'app_name="command-service"' in line  # one registry holds every app's
                and f'path="{path}"' in line
                and f'status_code="{status}"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    reader = bearer(token(secured_settings, ["reader"]))
    async with command_app(secured_settings) as client:
        before = (await client.get("/metrics")).text
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
        missing: Any = await client.get(f"/api/v1/cqrs/commands/{uuid.uuid4()}", headers=reader)
        assert missing.status_code == 404
        after = (await client.get("/metrics")).text
    assert count(after, "/health", 200) == count(before, "/health", 200) + 3
    template = "/api/v1/cqrs/commands/{command_id}"
    assert count(after, template, 404) == count(before, template, 404) + 1
    assert 'cqrs_requests_in_progress{app_name="command-service"' in after
    assert "cqrs_request_duration_seconds_bucket{" in after
