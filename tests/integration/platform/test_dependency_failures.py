"""A dependency that stops answering, or goes away, gives a prompt 503 or 504 in the one
error shape, logged with the request id; never a hung request. Each service reaches
MariaDB, the read store, Redis and Kafka through a TCP proxy that the test black-holes
(nothing answers: a hung server, a dropped network) or takes down (connections refused).

Bounds in play (set below): every request 2 s (security.request_timeout, then 504);
Redis commands 0.5 s (redis.socket_timeout, then 503); read-store operations 10 s, or
0.5 s where a case says so (then 503); MariaDB and Kafka calls inside a request are
bounded by the request's own limit (aiomysql has no read timeout of its own). The tests
assert statuses, not durations: a hang would end in the test timeout."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from cqrs_contracts.settings import Settings
from tests.integration.platform.shapes import assert_error, assert_logged, request_id
from tests.integration.platform.tokens import bearer, token
from tests.support.proxy import TcpProxy
from tests.support.services import Endpoints

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]


@dataclass
class Wired:
    """A service whose dependencies each sit behind a proxy the test controls."""

    client: AsyncTestClient
    proxies: dict[str, TcpProxy]
    settings: Settings

    def headers(self, rid: str) -> dict[str, str]:
        return {**bearer(token(self.settings, ["admin"])), "X-Request-ID": rid}


def _targets(endpoints: Endpoints) -> dict[str, tuple[str, int]]:
    mysql = make_url(endpoints.mysql_url)
    mongo, redis = urlsplit(endpoints.mongodb_uri), urlsplit(endpoints.redis_url)
    kafka_host, kafka_port = endpoints.kafka_brokers.split(",")[0].rsplit(":", 1)
    return {
        "mysql": (mysql.host or "127.0.0.1", mysql.port or 3306),
        "mongo": (mongo.hostname or "127.0.0.1", mongo.port or 27017),
        "redis": (redis.hostname or "127.0.0.1", redis.port or 6379),
        "kafka": (kafka_host, int(kafka_port)),
    }


def _env(proxies: dict[str, TcpProxy], endpoints: Endpoints) -> dict[str, str]:
    redis_db = urlsplit(endpoints.redis_url).path or "/0"
    return {
        "DB_PORT": str(proxies["mysql"].port),
        "MONGODB_URI": f"mongodb://127.0.0.1:{proxies['mongo'].port}/?directConnection=true",
        "REDIS_URL": f"redis://127.0.0.1:{proxies['redis'].port}{redis_db}",
        "KAFKA_BROKERS": f"127.0.0.1:{proxies['kafka'].port}",
        "CQRS__SECURITY__REQUEST_TIMEOUT": "2s",
        "CQRS__REDIS__SOCKET_TIMEOUT": "0.5s",
        "CQRS__SECURITY__RATE_LIMITS__ENABLED": "true",  # every request touches Redis
    }


@pytest.fixture
async def wired(
    request: pytest.FixtureRequest,
    endpoints: Endpoints,
    secured: Callable[..., Settings],
    command_app: AppFactory,
    projector_app: AppFactory,
    query_app: AppFactory,
    run_id: str,
) -> AsyncIterator[Wired]:
    """The service named by the test's parameter (with its settings overrides), started
    with every proxy forwarding."""
    service, overrides = request.param
    factory = {"command": command_app, "projector": projector_app, "query": query_app}[service]
    with ExitStack() as stack:
        proxies = {
            name: stack.enter_context(TcpProxy(*target))
            for name, target in _targets(endpoints).items()
        }
        settings = secured(
            **_env(proxies, endpoints),
            KAFKA_GROUP_ID=f"projector-{run_id}-wired",
            CQRS__REDIS__PREFIX=f"test:{run_id}:wired",
            **overrides,
        )
        async with factory(settings) as client:
            yield Wired(client, proxies, settings)


DRIVER_BOUND = {  # read-store bounds below the request's: the driver gives up first (503)
    "CQRS__QUERY_SERVICE__QUERY_TIMEOUT": "0.5s",
    "CQRS__DATABASE__MONGODB__OPERATION_TIMEOUT": "0.5s",
}
READ_MODEL = ("GET", "/api/v1/cqrs/read-models/u-1?type=UserReadModel")
# (service, settings, dependency, what happens to it, the request, the answer)
CASES: list[tuple[str, dict[str, str], str, str, tuple[str, str], int]] = [
    # command-service: the event store and the rate-limit counters
    ("command", {}, "mysql", "blackhole", ("POST", "/api/v1/cqrs/commands"), 504),
    ("command", {}, "mysql", "down", ("POST", "/api/v1/cqrs/commands"), 503),
    ("command", {}, "redis", "blackhole", ("GET", "/api/v1/cqrs/commands"), 503),
    ("command", {}, "redis", "down", ("GET", "/api/v1/cqrs/commands"), 503),
    # query-service: the read store and the cache
    ("query", {}, "mongo", "blackhole", READ_MODEL, 504),
    ("query", DRIVER_BOUND, "mongo", "blackhole", READ_MODEL, 503),
    ("query", DRIVER_BOUND, "mongo", "down", READ_MODEL, 503),
    ("query", {}, "redis", "blackhole", ("POST", "/api/v1/cqrs/queries"), 503),
    ("query", {}, "redis", "down", ("POST", "/api/v1/cqrs/queries"), 503),
    # projector: the read store, Redis and Kafka (a dead-letter listing opens new clients)
    ("projector", {}, "mongo", "blackhole", ("GET", "/api/v1/cqrs/projections"), 504),
    ("projector", DRIVER_BOUND, "mongo", "down", ("GET", "/api/v1/cqrs/projections"), 503),
    ("projector", {}, "redis", "down", ("GET", "/api/v1/cqrs/projections"), 503),
    ("projector", {}, "kafka", "blackhole", ("GET", "/api/v1/cqrs/projections/dlq"), 504),
]
BODIES = {
    "/api/v1/cqrs/commands": {
        "type": "CreateUser",
        "data": {"name": "Dana Cole", "email": "dana-dependency@example.com", "age": 41},
    },
    "/api/v1/cqrs/queries": {"type": "GetUser", "data": {"id": "u-1"}},
}


@pytest.mark.parametrize(
    ("wired", "dependency", "mode", "call", "status"),
    [((c[0], c[1]), *c[2:]) for c in CASES],
    indirect=["wired"],
    ids=[f"{c[0]}-{c[2]}-{c[3]}{'-driver-bound' if c[1] else ''}" for c in CASES],
)
async def test_a_failing_dependency_gives_a_prompt_error(
    wired: Wired,
    caplog: pytest.LogCaptureFixture,
    dependency: str,
    mode: str,
    call: tuple[str, str],
    status: int,
) -> None:
    method, path = call
    getattr(wired.proxies[dependency], mode)()
    rid = request_id()
    body: dict[str, Any] = {"json": BODIES[path]} if method == "POST" else {}
    answer = await wired.client.request(method, path, headers=wired.headers(rid), **body)
    assert_error(answer, status, "timeout" if status == 504 else "dependency_unavailable")
    assert_logged(caplog, rid, status)


@pytest.mark.parametrize(
    ("wired", "dependency", "lost"),
    [
        (("command", {}), "mysql", {"database", "outbox"}),
        (("query", DRIVER_BOUND), "mongo", {"read_store"}),
        (("projector", DRIVER_BOUND), "mongo", {"read_store"}),
    ],
    indirect=["wired"],
    ids=["command-mysql", "query-mongo", "projector-mongo"],
)
async def test_component_health_names_the_dependency_that_went_away(
    wired: Wired, dependency: str, lost: set[str]
) -> None:
    """Health is public and unlimited (no Redis on its way), so it answers with its own
    verdict: 503, the components on the lost dependency down, the others up."""
    healthy = await wired.client.get("/api/v1/cqrs/health")
    assert healthy.status_code == 200, healthy.text
    wired.proxies[dependency].down()
    answer = await wired.client.get("/api/v1/cqrs/health")
    assert answer.status_code == 503, answer.text
    checks = answer.json()["checks"]
    assert {name for name, c in checks.items() if c["status"] != "up"} == lost, checks


@pytest.mark.parametrize("wired", [("projector", {})], indirect=True, ids=["projector"])
async def test_a_kafka_outage_leaves_the_projector_live_but_not_ready(wired: Wired) -> None:
    """Liveness (/health, what Kubernetes restarts on) asks whether the process works, at
    once and without asking any dependency; readiness (/api/v1/cqrs/health) whether its
    dependencies do."""
    wired.proxies["kafka"].blackhole()  # the broker stops answering
    live = await wired.client.get("/health")
    assert live.status_code == 200, live.text
    assert live.json() == {"status": "ok", "service": "projector", "consumer": "running"}
    ready = await wired.client.get("/api/v1/cqrs/health")
    assert ready.status_code in (503, 504), ready.text
