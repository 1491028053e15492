"""The original service's README curl examples against the real server (Granian, a
subprocess), word for word except for the host and port."""

import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.polling import eventually
from tests.support.services import ROOT

# Copied verbatim from the original README ("Sending a Command", "Publishing an Event").
SEND_A_COMMAND = """\
curl -X POST http://localhost:8080/api/v1/cqrs/commands \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "CreateUser",
    "data": {
      "name": "John Doe",
      "email": "john@example.com",
      "age": 30
    }
  }'"""

PUBLISH_AN_EVENT = """\
curl -X POST http://localhost:8080/api/v1/cqrs/events \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "UserCreated",
    "data": {
      "user_id": "user-123",
      "name": "John Doe",
      "email": "john@example.com",
      "created_at": "2023-01-01T00:00:00Z"
    }
  }'"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def server(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """`command-service serve` on a free port; its base URL once /health answers."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("command-service")), "serve", "--port", str(port)]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=os.environ | service_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            assert process.poll() is None, log.read_text()
            return (await client.get(f"{base}/health", timeout=1)).status_code == 200

        async with httpx.AsyncClient() as client:
            await eventually(
                up,
                timeout=60,
                interval=0.2,
                ignoring=(httpx.TransportError,),
                what=f"the server to come up (its log: {log})",
            )
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def curl(example: str, base: str) -> tuple[int, dict]:
    """Run a README example against `base`; the HTTP status and the JSON body."""
    args = shlex.split(example.replace("\\\n", " ").replace("http://localhost:8080", base))
    assert args[0] == "curl"
    done = subprocess.run(
        [args[0], "-s", "-w", "\n%{http_code}", *args[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_the_original_readme_examples(server: str) -> None:
    status, answer = curl(SEND_A_COMMAND, server)
    assert status == 200, answer
    assert answer["status"] == "accepted"
    [event] = answer["events"]
    assert event["type"] == "UserCreated"
    assert event["data"]["email"] == "john@example.com"

    # both examples give john@example.com to a user: the import meets the email claim as
    # CreateUser does, so after the command the second is refused and appends nothing
    status, refused = curl(PUBLISH_AN_EVENT, server)
    assert (status, refused["error"]["code"]) == (409, "email_taken"), refused
    assert refused["error"]["details"]["field"] == "email"


def test_detailed_health_of_the_real_server(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/cqrs/health", timeout=10)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "database": "up",
        "broker": "up",
        "outbox": "up",
    }
    assert response.json()["status"] == "healthy"
