"""One error shape on every service, with the right status for each kind of failure:
400 (malformed body), 401 (no or bad token), 403 (role too low), 404 (no such route or
resource), 409 (conflict; only the command-service has one), 413 (body too large), 422
(invalid input), 429 (rate limit, with Retry-After). Each answer is exactly
{"error": {"code", "message", "details"}} with no stack trace, and each is logged with
the request id. (503 and 504: test_dependency_failures.py.)"""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from tests.integration.platform.shapes import assert_error, assert_logged, request_id
from tests.integration.platform.tokens import bearer, token

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]
LIMIT = 5  # requests per minute per client and route group
MAX_BODY = 4096

# per service: a guarded route a reader may call, an admin-only route, a route taking a
# JSON body (and who may call it), and a route naming a resource that does not exist
ROUTES: dict[str, dict[str, Any]] = {
    "command": {
        "reader": ("GET", "/api/v1/cqrs/commands"),
        "admin": ("POST", "/api/v1/cqrs/events"),
        "body": ("POST", "/api/v1/cqrs/commands", "writer"),
        "missing": ("GET", f"/api/v1/cqrs/commands/{uuid.uuid4()}"),
    },
    "projector": {
        "reader": ("GET", "/api/v1/cqrs/projections"),
        "admin": ("GET", "/api/v1/cqrs/projections/dlq"),
        "body": ("POST", "/api/v1/cqrs/handlers/events", "admin"),
        "missing": ("DELETE", f"/api/v1/cqrs/handlers/events/by-id/{uuid.uuid4()}"),
    },
    "query": {
        "reader": ("GET", "/api/v1/cqrs/queries"),
        "admin": ("POST", "/api/v1/cqrs/cleanup"),
        "body": ("POST", "/api/v1/cqrs/queries", "reader"),
        "missing": ("GET", f"/api/v1/cqrs/read-models/{uuid.uuid4()}"),
    },
}
SERVICES = list(ROUTES)


@pytest.fixture(scope="module")
def strict_settings(secured: Callable[..., Settings], run_id: str) -> Settings:
    limits = {
        f"CQRS__SECURITY__RATE_LIMITS__{group}": str(LIMIT)
        for group in ("COMMANDS", "QUERIES", "ADMIN", "DEFAULT")
    }
    return secured(
        CQRS__SECURITY__MAX_BODY_BYTES=str(MAX_BODY),
        CQRS__SECURITY__RATE_LIMITS__ENABLED="true",
        CQRS__REDIS__PREFIX=f"test:{run_id}:strict:{uuid.uuid4().hex[:6]}",
        **limits,
    )


@pytest.fixture(scope="module")
async def apps(
    strict_settings: Settings,
    command_app: AppFactory,
    projector_app: AppFactory,
    query_app: AppFactory,
) -> AsyncIterator[dict[str, AsyncTestClient]]:
    """The three services, auth on, a small body limit and a small rate limit (per token
    subject: each test call uses a fresh subject unless it tests the limit)."""
    async with (
        command_app(strict_settings) as command,
        projector_app(strict_settings) as projector,
        query_app(strict_settings) as query,
    ):
        yield {"command": command, "projector": projector, "query": query}


def as_role(settings: Settings, role: str, rid: str) -> dict[str, str]:
    """Headers of a caller with `role` and a subject of its own (its own rate budget)."""
    fresh = token(settings, [role], sub=f"{role}-{uuid.uuid4().hex[:8]}")
    return {**bearer(fresh), "X-Request-ID": rid}


async def send(
    client: AsyncTestClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    return await client.request(method, path, headers=headers, **kw)


@pytest.mark.parametrize("service", SERVICES)
async def test_400_for_a_body_that_is_not_json(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    method, path, role = ROUTES[service]["body"]
    rid = request_id()
    headers = {**as_role(strict_settings, role, rid), "Content-Type": "application/json"}
    answer = await send(apps[service], method, path, headers, content=b'{"type": "broken')
    assert_error(answer, 400, "bad_request")
    assert_logged(caplog, rid, 400)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("levels", [65, 1500])
async def test_400_for_a_body_nested_too_deep(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
    levels: int,
) -> None:
    """Deeper than `security.max_json_depth` (64): refused before anything decodes it
    (past ~1,000 levels the decoder itself gave up: a RecursionError, a 500)."""
    method, path, role = ROUTES[service]["body"]
    rid = request_id()
    body = b'{"type": "CreateUser", "data": ' + b"[" * levels + b"]" * levels + b"}"
    headers = {**as_role(strict_settings, role, rid), "Content-Type": "application/json"}
    answer = await send(apps[service], method, path, headers, content=body)
    assert_error(answer, 400, "bad_request")
    assert answer.json()["error"]["details"]["max_depth"] == 64
    assert_logged(caplog, rid, 400)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("caller", ["no token", "expired", "bad signature"])
async def test_401_without_a_valid_token(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
    caller: str,
) -> None:
    tokens = {
        "no token": None,
        "expired": token(strict_settings, ["admin"], expires_in=-60),
        "bad signature": token(strict_settings, ["admin"], secret="x" * 40),
    }
    method, path = ROUTES[service]["reader"]
    rid = request_id()
    answer = await send(
        apps[service], method, path, {**bearer(tokens[caller]), "X-Request-ID": rid}
    )
    assert_error(answer, 401, "unauthorized")
    assert_logged(caplog, rid, 401)


@pytest.mark.parametrize("service", SERVICES)
async def test_403_below_the_routes_role(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    method, path = ROUTES[service]["admin"]
    rid = request_id()
    answer = await send(
        apps[service], method, path, as_role(strict_settings, "reader", rid), json={}
    )
    assert_error(answer, 403, "forbidden")
    assert_logged(caplog, rid, 403)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("what", ["route", "resource"])
async def test_404_for_what_does_not_exist(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
    what: str,
) -> None:
    method, path = (
        ("GET", "/api/v1/cqrs/no-such-thing") if what == "route" else ROUTES[service]["missing"]
    )
    rid = request_id()
    answer = await send(apps[service], method, path, as_role(strict_settings, "admin", rid))
    assert_error(answer, 404, "not_found")
    assert_logged(caplog, rid, 404)


async def test_409_for_a_conflicting_command(
    apps: dict[str, AsyncTestClient], strict_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the command-service has conflicts (the read side has nothing to clash on)."""
    email = f"conflict-{uuid.uuid4().hex[:10]}@example.com"
    command = {"type": "CreateUser", "data": {"name": "Cleo Park", "email": email, "age": 33}}
    first = await send(
        apps["command"],
        "POST",
        "/api/v1/cqrs/commands",
        as_role(strict_settings, "writer", request_id()),
        json=command,
    )
    assert first.status_code == 200, first.text
    rid = request_id()
    answer = await send(
        apps["command"],
        "POST",
        "/api/v1/cqrs/commands",
        as_role(strict_settings, "writer", rid),
        json=command,
    )
    assert_error(answer, 409, "email_taken")
    assert_logged(caplog, rid, 409)


@pytest.mark.parametrize("service", SERVICES)
async def test_413_for_a_body_over_the_limit(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    method, path, role = ROUTES[service]["body"]
    rid = request_id()
    huge = {"type": "CreateUser", "data": {"name": "x" * (MAX_BODY * 2)}}
    answer = await send(apps[service], method, path, as_role(strict_settings, role, rid), json=huge)
    assert_error(answer, 413, "payload_too_large")
    assert_logged(caplog, rid, 413)


@pytest.mark.parametrize("service", SERVICES)
async def test_422_for_invalid_input_with_the_fields_named(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    method, path, role = ROUTES[service]["body"]
    rid = request_id()
    answer = await send(
        apps[service], method, path, as_role(strict_settings, role, rid), json={"type": 7}
    )
    assert_error(answer, 422, "validation_failed")
    assert answer.json()["error"]["details"]["fields"], answer.text
    assert_logged(caplog, rid, 422)


@pytest.mark.parametrize("service", SERVICES)
async def test_429_past_the_rate_limit_with_retry_after(
    apps: dict[str, AsyncTestClient],
    strict_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    method, path = ROUTES[service]["reader"]
    caller = bearer(token(strict_settings, ["admin"], sub=f"busy-{uuid.uuid4().hex[:8]}"))
    statuses = []
    for _ in range(LIMIT):
        statuses.append((await send(apps[service], method, path, caller)).status_code)
    assert 429 not in statuses, statuses
    rid = request_id()
    answer = await send(apps[service], method, path, {**caller, "X-Request-ID": rid})
    assert_error(answer, 429, "rate_limited")
    assert int(answer.headers["retry-after"]) > 0
    assert_logged(caplog, rid, 429)
