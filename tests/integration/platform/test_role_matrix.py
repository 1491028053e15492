"""The role matrix: every route of every service's real route table, called by every kind of
caller, with authentication on.

- No token, or a token that is expired, for another audience, from another issuer or
  badly signed: 401 on every guarded route.
- A valid token below the route's role: 403. At or above it: neither 401 nor 403 (and no
  5xx: the call reaches the handler, which may still find the body invalid or the id
  unknown).
- The role each route needs comes from RULES below, not from the code under test; a
  route that no rule (or more than one) matches fails the test, so a new route cannot
  slip in unguarded. Public routes (liveness, component health, metrics, API docs) are
  listed as such and proven to answer without a token."""

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from cqrs_contracts.settings import Settings
from tests.integration.platform.tokens import ROLES, bearer, identities
from tests.support.polling import eventually

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]
ANY = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
WS = frozenset({"WEBSOCKET"})

# Public by design: anyone may ask whether a service is alive and healthy, scrape its
# metrics and read its API documents.
PUBLIC = (
    r"^/health$",
    r"^/api/v1/cqrs/health$",
    r"^/api/v1/cqrs/system/health$",
    r"^/metrics$",
    r"^/schema(/.*)?$",
    r"^/asyncapi(\.json)?$",
)

# (methods, path, the least role that may call it)
RULES: tuple[tuple[frozenset[str], str, str], ...] = (
    # commands: writer; the command log: reader
    (frozenset({"POST"}), r"^/api/v1/cqrs/commands$", "writer"),
    (frozenset({"GET"}), r"^/api/v1/cqrs/commands(/[^/]+)?$", "reader"),
    # events: reader to read, admin to append
    (frozenset({"GET"}), r"^/api/v1/cqrs/events(/[^/]+)?$", "reader"),
    (frozenset({"POST"}), r"^/api/v1/cqrs/events$", "admin"),
    # queries and the query log: reader
    (frozenset({"GET", "POST"}), r"^/api/v1/cqrs/queries(/[^/]+)?$", "reader"),
    # read models: reader to read, admin to correct
    (frozenset({"GET"}), r"^/api/v1/cqrs/read-models(/[^/]+)?$", "reader"),
    (ANY - {"GET"}, r"^/api/v1/cqrs/read-models(/[^/]+)?$", "admin"),
    # handler registration (commands, queries, event webhooks), whatever the route: also
    # the webhook secret rotation (POST .../events/by-id/{id}/secrets, DELETE
    # .../secrets/{n}) and dead-letter re-drive (POST .../events/dead-letters/{id}/retry)
    (ANY, r"^/api/v1/cqrs/handlers(/.*)?$", "admin"),
    # operations
    (frozenset({"GET"}), r"^/api/v1/cqrs/stats$", "reader"),
    (frozenset({"GET"}), r"^/api/v1/cqrs/system/stats$", "reader"),
    (frozenset({"POST"}), r"^/api/v1/cqrs/cleanup$", "admin"),
    # projections: status for readers; dead letters and rebuilds for admins
    (frozenset({"GET"}), r"^/api/v1/cqrs/projections$", "reader"),
    (ANY, r"^/api/v1/cqrs/projections/dlq(/.*)?$", "admin"),
    (ANY, r"^/api/v1/cqrs/projections/rebuild(/.*)?$", "admin"),
    # live updates
    (WS, r"^/ws$", "reader"),
)

BROKEN = ("no token", "expired", "wrong audience", "wrong issuer", "bad signature")


def concrete(path: str) -> str:
    """A callable path for a route template: every parameter gets a harmless value."""
    samples = {"int": "1", "uuid": str(uuid.uuid4())}
    return re.sub(r"\{\w+:(\w+)\}", lambda m: samples.get(m.group(1), "role-matrix-x"), path)


def endpoints(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) for every route; OPTIONS (CORS preflight, answered by
    Litestar itself, never authenticated by design) and HEAD are left out."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found += [(m, route.path) for m in sorted(route.methods - {"OPTIONS", "HEAD"})]
        elif isinstance(route, WebSocketRoute):
            found.append(("WEBSOCKET", route.path))
    return found


def is_public(path: str) -> bool:
    return any(re.match(p, path) for p in PUBLIC)


def required_role(method: str, path: str) -> str:
    matches = [role for methods, rx, role in RULES if method in methods and re.match(rx, path)]
    assert len(matches) == 1, (
        f"{method} {path}: {len(matches)} rules match; every route needs exactly one "
        "entry in RULES (or PUBLIC) saying which role may call it"
    )
    return matches[0]


def expected(caller: str, role: str) -> str:
    if caller in BROKEN:
        return "401"
    return "403" if ROLES.index(caller) < ROLES.index(role) else "allowed"


def outcome(status: int) -> str:
    if status in (401, 403):
        return str(status)
    return "allowed" if status < 500 else f"server error {status}"


async def call(client: AsyncTestClient, method: str, path: str, token: str | None) -> int:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    answer = await client.request(method, concrete(path), headers=bearer(token), **body)
    return answer.status_code


async def walk(client: AsyncTestClient, settings: Settings) -> list[str]:
    """Every guarded HTTP route with every caller; the mismatches, one line each."""
    app: Litestar = client.app
    callers = identities(settings)
    wrong = []
    for method, path in endpoints(app):
        if method == "WEBSOCKET" or is_public(path):
            continue
        role = required_role(method, path)
        for caller, token in callers.items():
            got = outcome(await call(client, method, path, token))
            if got != expected(caller, role):
                wrong.append(f"{method} {path} as {caller}: {got}, want {expected(caller, role)}")
    return wrong


async def assert_public_routes_answer_anyone(client: AsyncTestClient) -> None:
    app: Litestar = client.app
    public = [(m, p) for m, p in endpoints(app) if is_public(p)]
    assert any(p == "/health" for _, p in public)
    assert any(p == "/metrics" for _, p in public)
    assert any(p.startswith("/schema") for _, p in public)
    for method, path in public:
        if "{" in path:
            continue  # /schema/{path}: a file of a docs UI, if configured
        status = await call(client, method, path, None)
        assert status not in (401, 403), f"{method} {path} should be public, got {status}"


def every_route_is_in_the_table(app: Litestar) -> None:
    for method, path in endpoints(app):
        if not is_public(path):
            required_role(method, path)


async def test_command_service_routes_need_their_roles(
    command_app: AppFactory, secured_settings: Settings
) -> None:
    async with command_app(secured_settings) as client:
        every_route_is_in_the_table(client.app)
        await assert_public_routes_answer_anyone(client)
        assert await walk(client, secured_settings) == []


async def test_projector_routes_need_their_roles(
    projector_app: AppFactory, secured_settings: Settings
) -> None:
    async with projector_app(secured_settings) as client:
        every_route_is_in_the_table(client.app)
        await assert_public_routes_answer_anyone(client)
        assert await walk(client, secured_settings) == []
        walked = set(endpoints(client.app))
        # the admin's POST /projections/rebuild started a real rebuild of the run's read
        # models: let it end here rather than leave it to whichever test comes next
        admin = bearer(identities(secured_settings)["admin"])

        async def rebuild_ended() -> bool:
            job = (await client.get("/api/v1/cqrs/projections/rebuild", headers=admin)).json()
            return bool(job.get("state") != "running")

        await eventually(rebuild_ended, timeout=120, interval=0.5, what="the rebuild to end")
    rotation_and_redrive = {
        ("POST", "/api/v1/cqrs/handlers/events/by-id/{handler_id:str}/secrets"),
        ("DELETE", "/api/v1/cqrs/handlers/events/by-id/{handler_id:str}/secrets/{n:int}"),
        ("POST", "/api/v1/cqrs/handlers/events/dead-letters/{dead_letter_id:str}/retry"),
    }
    assert rotation_and_redrive <= walked
    assert {required_role(m, p) for m, p in rotation_and_redrive} == {"admin"}


async def test_query_service_routes_need_their_roles(
    query_app: AppFactory, secured_settings: Settings
) -> None:
    async with query_app(secured_settings) as client:
        every_route_is_in_the_table(client.app)
        await assert_public_routes_answer_anyone(client)
        assert await walk(client, secured_settings) == []


def test_a_route_missing_from_the_table_fails_the_matrix() -> None:
    with pytest.raises(AssertionError, match="exactly one"):
        required_role("POST", "/api/v1/cqrs/something-new")
    assert required_role("DELETE", "/api/v1/cqrs/handlers/queries/by-id/x") == "admin"
    assert required_role("GET", "/api/v1/cqrs/handlers/anything/new") == "admin"


async def test_the_websocket_needs_a_reader_token(
    query_app: AppFactory, secured_settings: Settings
) -> None:
    assert required_role("WEBSOCKET", "/ws") == "reader"
    callers = identities(secured_settings)
    async with query_app(secured_settings) as client:
        for caller in BROKEN:
            with pytest.raises(WebSocketDisconnect):  # noqa: PT012 - refused at connect
                async with live(client, callers[caller]) as ws:
                    ws.send_json({"op": "ping"})
                    ws.receive_json(timeout=5)
        for caller in ROLES:
            async with live(client, callers[caller]) as ws:
                assert ws.receive_json(timeout=5)["type"] == "ack"
                ws.send_json({"op": "ping"})
                assert ws.receive_json(timeout=5) == {"type": "pong"}


@asynccontextmanager
async def live(client: AsyncTestClient, token: str | None) -> AsyncIterator[WebSocketTestSession]:
    with await client.websocket_connect("/ws?subscribe=UserReadModel", headers=bearer(token)) as ws:
        yield ws


async def test_a_browser_sends_its_token_as_the_websocket_subprotocol(
    secured_settings: Settings,
    query_app: Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]],
) -> None:
    """`new WebSocket(url, ["bearer", token])`: the same check as the header, and the
    handshake answers with the `bearer` subprotocol (a browser requires one it offered)."""
    callers = identities(secured_settings)
    async with query_app(secured_settings) as client:
        for caller in BROKEN:
            credential = callers[caller]
            offered = ["bearer", credential] if credential else ["bearer"]
            with (
                pytest.raises(WebSocketDisconnect),
                await client.websocket_connect("/ws?subscribe=events", subprotocols=offered) as ws,
            ):
                ws.receive_json(timeout=5)
        reader = callers["reader"]
        assert reader is not None
        offered = ["bearer", reader]
        with await client.websocket_connect("/ws?subscribe=events", subprotocols=offered) as ws:
            assert ws.accepted_subprotocol == "bearer"
            assert ws.receive_json(timeout=5)["type"] == "ack"
