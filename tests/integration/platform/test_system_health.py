"""The whole system's health and stats, as the gateway serves them (/api/v1/cqrs/health and
/stats -> the query service's /api/v1/cqrs/system/health and /system/stats), against the
three services run as real processes on free ports (auth on, JSON logs), one configured
query instance that is not running, and then the command-service killed.

The same processes prove the structured logs: every line a JSON object, the request id
the caller sent (echoed in the answer) on the lines its request caused, the command id
on the command endpoint's, the trace id of the request's span (here the caller's trace,
continued from its traceparent header)."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cqrs_contracts.settings import load_settings
from tests.integration.platform.tokens import bearer, token
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
TRACE_ID = uuid.uuid4().hex


@dataclass
class System:
    command: ServiceProcess
    projector: ServiceProcess
    query: ServiceProcess
    dead_query: str  # configured, never started

    def reader(self) -> dict[str, str]:
        settings = load_settings(env={"CQRS__SECURITY__JWT_SECRET": SECRET})
        return bearer(token(settings, ["reader"]))


@pytest.fixture(scope="module")
async def system(
    query_env: dict[str, str], run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    logs = tmp_path_factory.mktemp("system-logs")
    common = {
        **query_env,
        "CQRS__SECURITY__AUTH_ENABLED": "true",
        "CQRS__SECURITY__JWT_SECRET": SECRET,
        "CQRS__LOGGING__FORMAT": "json",
        "CQRS__REDIS__PREFIX": f"test:{run_id}:system",
        "KAFKA_GROUP_ID": f"projector-{run_id}-system",
    }
    command = ServiceProcess("command-service", common, logs / "command.log")
    projector = ServiceProcess("projector", common, logs / "projector.log")
    query = ServiceProcess("query-service", common, logs / "query.log")
    dead_query = f"http://127.0.0.1:{free_port()}"
    query.env |= {
        "CQRS__SYSTEM__SERVICES__COMMAND": command.url,
        "CQRS__SYSTEM__SERVICES__PROJECTOR": projector.url,
        "CQRS__SYSTEM__SERVICES__QUERY": f"{query.url},{dead_query}",
    }
    try:
        for process in (command, projector, query):
            await process.start()
        yield System(command, projector, query, dead_query)
    finally:
        for process in (command, projector, query):
            process.stop()


async def get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url, headers=headers or {})


def by_url(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["url"]: entry for entry in body["services"]}


async def test_system_health_reports_each_instance_and_names_the_one_down(system: System) -> None:
    answer = await get(f"{system.query.url}/api/v1/cqrs/system/health")
    assert answer.status_code == 200, answer.text  # public, and every service still has one
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["failing"] == [f"query@{system.dead_query}"]
    instances = by_url(body)
    assert instances[system.dead_query]["status"] == "unreachable"
    for process, name in ((system.command, "command"), (system.projector, "projector")):
        assert instances[process.url]["service"] == name
        assert instances[process.url]["status"] == "healthy"
    assert set(instances[system.command.url]["checks"]) >= {"database", "broker", "outbox"}
    projector_checks = instances[system.projector.url]["checks"]
    assert set(projector_checks) >= {"read_store", "cache", "broker", "consumer_lag"}
    assert set(instances[system.query.url]["checks"]) >= {"read_store", "cache"}


async def test_system_stats_asks_every_instance_with_the_callers_token(system: System) -> None:
    refused = await get(f"{system.query.url}/api/v1/cqrs/system/stats")
    assert refused.status_code == 401
    answer = await get(f"{system.query.url}/api/v1/cqrs/system/stats", system.reader())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["instances"], body["answering"]) == (4, 3)
    services = body["services"]
    command = services["command"][0]["stats"]
    assert {"commands", "events", "outbox_backlog", "uptime_seconds", "version"} <= set(command)
    projector = services["projector"][0]["stats"]
    assert {"events_processed", "consumer_lag", "uptime_seconds"} <= set(projector)
    assert projector["consumer_lag"]["status"] == "up"
    assert len(projector["consumer_lag"]["partitions"]) == 3
    live, dead = sorted(services["query"], key=lambda e: e["url"] != system.query.url)
    assert {"read_models", "cache", "websocket_clients"} <= set(live["stats"])
    assert dead["status"] == "unavailable"


async def logged(path: Path, text: str, within: float = 20) -> list[dict[str, Any]]:
    """The log's lines once `text` is in it (a logging thread writes them), each parsed:
    every line must be one JSON object."""

    async def written() -> bool:
        return text in path.read_text()

    await eventually(written, timeout=within, interval=0.1, what=f"{text!r} in {path.name}")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


async def test_logs_are_json_lines_with_the_request_and_command_ids(system: System) -> None:
    rid = f"log-{uuid.uuid4().hex[:12]}"
    settings = load_settings(env={"CQRS__SECURITY__JWT_SECRET": SECRET})
    headers = {
        **bearer(token(settings, ["writer"])),
        "X-Request-ID": rid,
        "traceparent": f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01",
    }
    command = {
        "type": "CreateUser",
        "data": {"name": "Lola Grey", "email": f"{rid}@example.com", "age": 52},
    }
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{system.command.url}/api/v1/cqrs/commands", json=command, headers=headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == rid
        unnamed = await client.get(f"{system.command.url}/health")
        assert unnamed.headers["x-request-id"]  # made up when the caller sent none
    command_id = answer.json()["command_id"]
    lines = await logged(system.command.log_path, rid)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    mine = [line for line in lines if line.get("request_id") == rid]
    assert mine, "no log line carries the request id"
    access = [line for line in mine if line["logger"] == "cqrs_http.access"]
    assert access == [
        {
            **access[0],
            "service": "command-service",
            "method": "POST",
            "path": "/api/v1/cqrs/commands",
            "status": 200,
            "command_id": command_id,
        }
    ]
    assert access[0]["trace_id"] == TRACE_ID  # the caller's trace, continued


async def test_system_health_is_down_when_a_service_has_no_live_instance(system: System) -> None:
    system.command.kill()
    answer = await get(f"{system.query.url}/api/v1/cqrs/system/health")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "down"
    assert set(body["failing"]) == {f"command@{system.command.url}", f"query@{system.dead_query}"}
    assert by_url(body)[system.command.url]["status"] == "unreachable"
