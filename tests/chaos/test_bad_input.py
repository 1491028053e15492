"""Issue 9, item 8: bad input against the real processes.

- schemathesis generates requests from each Litestar service's OpenAPI (/schema/openapi.json),
  valid by the schema and invalid, for every operation;
- SQL fragments and MongoDB operators go into every field of every command and query.
No answer may be a 5xx or show a stack trace, every 4xx has the one error shape, a rejected
command leaves the event store as it was, an accepted one stores the text literally, and a
query never finds more because of an operator.

Bounded by construction: a fixed number of generated examples per operation, derandomized
(the same requests every run)."""

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.queries import QUERY_TYPES
from cqrs_event_store.tables import events
from tests.chaos.bad_input import INJECTIONS, Findings
from tests.chaos.system import System
from tests.support.polling import eventually

EXAMPLES = 30  # per operation and per mode (valid by the schema, invalid)
SECONDS_PER_OPERATION = 10.0  # a slow operation stops early
COMMANDS, QUERIES = "/api/v1/cqrs/commands", "/api/v1/cqrs/queries"
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def fuzz(base_url: str, findings: Findings) -> int:
    """Every operation of one service, both modes; how many operations there were."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"schema error: {result.err()}"
        operations.append(result.ok())
    session = requests.Session()
    for operation in operations:
        for mode in MODES:
            _fuzz_one(operation, mode, base_url, session, findings)
    return len(operations)


def _fuzz_one(
    operation: Any,
    mode: schemathesis.GenerationMode,
    base_url: str,
    session: requests.Session,
    findings: Findings,
) -> None:
    stop_at = time.monotonic() + SECONDS_PER_OPERATION

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        if time.monotonic() > stop_at:
            return
        what = f"{mode.value} {operation.label} {case.path_parameters or ''}"
        try:
            response = case.call(base_url=base_url, session=session, timeout=15)
        except (requests.ConnectionError, requests.Timeout) as failure:
            findings.problems.append(f"{what} -> {type(failure).__name__}")
            return
        except (ValueError, UnicodeError, requests.RequestException):
            return  # a request the client library itself refuses to send
        findings.saw(what, response.status_code, response.text)
        findings.answered.add(operation.label)

    with contextlib.suppress(Unsatisfiable):  # no input, so no invalid form of it
        call()


@pytest.mark.timeout(300)
async def test_generated_requests_get_clean_answers_from_every_service(system: System) -> None:
    services = {
        "command-service": system.command_url,
        "projector": system["projector"].url,
        "query-service": system.query_url,
    }
    for name, url in services.items():
        findings = Findings()
        operations = await asyncio.to_thread(fuzz, url, findings)
        print(
            f"\nschemathesis {name}: {operations} operations, {findings.answers} answers, "
            f"by status {dict(sorted(findings.statuses.items()))}, "
            f"problems {len(findings.problems)}",
            flush=True,
        )
        assert operations >= 10
        assert len(findings.answered) == operations, "an operation got no request through"
        assert not findings.problems, "\n".join(findings.problems[:10])


# --- injection ----------------------------------------------------------------------------


async def accepted(client: httpx.AsyncClient, type_: str, **data: Any) -> dict[str, Any]:
    answer = await client.post(COMMANDS, json={"type": type_, "data": data})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def event_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(events)) or 0)


async def valid_commands(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """One valid body per command type, on aggregates made here (a paid order for payments,
    a pending one to update and cancel, a user of its own to delete, last)."""
    uid, gone = [
        (await accepted(client, "CreateUser", name="Inject", email=email(), age=30))["aggregate_id"]
        for _ in range(2)
    ]
    paid, pending = [
        (await accepted(client, "CreateOrder", user_id=uid, amount="50.00", currency="USD"))[
            "aggregate_id"
        ]
        for _ in range(2)
    ]
    pay = {"order_id": paid, "amount": "20.00", "currency": "USD", "method": "wallet"}
    pid = (await accepted(client, "ProcessPayment", **pay))["aggregate_id"]
    return {
        "CreateUser": {"name": "Ann Other", "email": "ann@example.com", "age": 40},
        "UpdateUser": {"user_id": uid, "name": "Renamed"},
        "CreateOrder": {"user_id": uid, "amount": "5.00", "currency": "USD", "description": "d"},
        "UpdateOrder": {"order_id": pending, "amount": "60.00", "description": "more"},
        "ProcessPayment": {**pay, "amount": "1.00"},
        "RefundPayment": {"payment_id": pid, "amount": "0.01", "reason": "partial"},
        "CancelOrder": {"order_id": pending, "reason": "changed my mind"},
        "DeleteUser": {"user_id": gone},
    }


def email() -> str:
    return f"inj-{uuid.uuid4().hex[:12]}@example.com"


def bodies(valid: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(what, body): each injection in each data field of each command, and in the envelope.
    Every CreateUser gets an email of its own (unless the email is what is injected), and
    injected command ids and idempotency keys are told apart per command type."""
    tried: list[tuple[str, dict[str, Any]]] = []
    for type_, data in valid.items():
        for name in data:
            for payload in INJECTIONS:
                fresh = {"email": email()} if type_ == "CreateUser" and name != "email" else {}
                body = {"type": type_, "data": {**data, **fresh, name: payload}}
                tried.append((f"{type_}.{name}={payload!r}", body))
        for name in ("type", "id", "expected_version", "idempotency_key", "metadata"):
            for payload in INJECTIONS:
                fresh = {"email": email()} if type_ == "CreateUser" else {}
                unique = name in ("id", "idempotency_key") and isinstance(payload, str)
                value = f"{payload} {type_}" if unique else payload
                body = {"type": type_, "data": {**data, **fresh}, name: value}
                tried.append((f"{type_} envelope {name}={value!r}", body))
    return tried


@pytest.mark.timeout(300)
async def test_injection_in_every_field_changes_nothing_and_leaks_nothing(
    system: System, event_store: AsyncEngine
) -> None:
    findings, literal, rejected, queried = Findings(), 0, 0, 0
    async with (
        httpx.AsyncClient(base_url=system.command_url, timeout=30) as commands,
        httpx.AsyncClient(base_url=system.query_url, timeout=30) as queries,
    ):
        valid = await valid_commands(commands)
        await injected_queries(queries, findings)
        queried = findings.answers
        for what, body in bodies(valid):
            before = await event_rows(event_store)
            answer = await commands.post(COMMANDS, json=body)
            after = await event_rows(event_store)
            findings.saw(what, answer.status_code, answer.text)
            if answer.status_code == 200:
                literal += 1
                problem = stored_literally(body, answer.json(), after - before)
            else:
                rejected += 1
                problem = None if after == before else f"{after - before} events written"
            if problem:
                findings.problems.append(f"{what} -> {problem}")
    print(
        f"\ninjection: {queried} queries; {rejected + literal} commands, "
        f"{rejected} rejected with nothing written, {literal} accepted and stored literally; "
        f"by status {dict(sorted(findings.statuses.items()))}, problems {len(findings.problems)}",
        flush=True,
    )
    dead_lettered = await projector_caught_up(system["projector"].url)
    print(f"projector dead-lettered {dead_lettered} of the accepted events", flush=True)
    assert rejected > 0
    assert literal > 0
    assert dead_lettered == 0
    assert not findings.problems, "\n".join(findings.problems[:10])


async def projector_caught_up(url: str, within: float = 60) -> int:
    """Wait (bounded: failing after `within` seconds) until the projector has taken every
    event; how many it dead-lettered."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:

        async def status() -> dict[str, Any]:
            return dict((await client.get("/api/v1/cqrs/projections")).json())

        def caught_up(status: dict[str, Any]) -> bool:
            lag = max(p["lag"] for p in status["projections"].values())
            return bool(lag == 0 and status["processed"] > 0)

        done = await eventually(
            status, timeout=within, interval=0.5, accept=caught_up, what="the projector's lag 0"
        )
        return int(done["dead_lettered"])


def stored_literally(body: dict[str, Any], answer: dict[str, Any], written: int) -> str | None:
    """An accepted command wrote exactly its events, with every string as it was sent."""
    if written != len(answer["events"]):
        return f"answer names {len(answer['events'])} events, {written} were written"
    sent = {k: v for k, v in body["data"].items() if isinstance(v, str) and k not in ("amount",)}
    stored: dict[str, Any] = {}
    for event in answer["events"]:
        stored |= {k: v for k, v in event["data"].items() if v is not None}
    changed = {k: (v, stored.get(k)) for k, v in sent.items() if k in stored and stored[k] != v}
    return f"stored differently: {changed}" if changed else None


async def injected_queries(client: httpx.AsyncClient, findings: Findings) -> None:
    """Each injection in each field of each query: never more found than with no filter."""
    for type_, contract in QUERY_TYPES.items():
        for name in contract.model_fields:
            for payload in INJECTIONS:
                what = f"{type_}.{name}={payload!r}"
                answer = await client.post(QUERIES, json={"type": type_, "data": {name: payload}})
                findings.saw(what, answer.status_code, answer.text)
                result = answer.json().get("result") if answer.status_code == 200 else None
                if result and (not isinstance(result, dict) or result.get("items", True)):
                    findings.problems.append(f"{what} -> found {str(result)[:200]}")


# --- hostile requests (issue 14) ----------------------------------------------------------


async def test_hostile_requests_get_4xx_and_change_nothing(
    system: System, event_store: AsyncEngine
) -> None:
    """Against the real processes: an idempotency key reused with another request, imports
    that break the command rules, bodies nested 50,000 deep, an oversized WebSocket frame
    and a subscription to 5,000 channels. Each is refused in the error shape (or closed
    with its code) and writes nothing; the replica answers normally afterwards."""
    findings = Findings()
    async with (
        httpx.AsyncClient(base_url=system.command_url, timeout=30) as commands,
        httpx.AsyncClient(base_url=system.query_url, timeout=30) as queries,
    ):
        taken = email()
        first = await commands.post(
            COMMANDS,
            json={"type": "CreateUser", "data": {"name": "Key Holder", "email": taken, "age": 30}},
            headers={"Idempotency-Key": f"hostile-{uuid.uuid4().hex}"},
        )
        assert first.status_code == 200, first.text
        holder = first.json()["aggregate_id"]
        key = first.request.headers["Idempotency-Key"]
        deep = b"[" * 50_000 + b"]" * 50_000
        hostile: list[tuple[str, str, httpx.AsyncClient, dict[str, Any], int, str]] = [
            (
                "idempotency key reused",
                COMMANDS,
                commands,
                {
                    "json": {
                        "type": "CreateUser",
                        "data": {"name": "Other", "email": email(), "age": 30},
                    },
                    "headers": {"Idempotency-Key": key},
                },
                422,
                "idempotency_key_reused",
            ),
            (
                "import with a held email",
                "/api/v1/cqrs/events",
                commands,
                {"json": imported_user(f"user-{uuid.uuid4().hex[:8]}", taken)},
                409,
                "email_taken",
            ),
            (
                "import of a creation on an existing stream",
                "/api/v1/cqrs/events",
                commands,
                {"json": imported_user(holder, email())},
                409,
                "stream_exists",
            ),
            (
                "command nested 50,000 deep",
                COMMANDS,
                commands,
                {"content": b'{"type": "CreateUser", "data": ' + deep + b"}"},
                400,
                "bad_request",
            ),
            ("query nested 50,000 deep", QUERIES, queries, {"content": deep}, 400, "bad_request"),
        ]
        for what, path, client, request, status, code in hostile:
            before = await event_rows(event_store)
            raw = {"headers": {"Content-Type": "application/json"}} if "content" in request else {}
            answer = await client.post(path, **(request | raw))
            after = await event_rows(event_store)
            findings.saw(what, answer.status_code, answer.text)
            if answer.status_code != status or answer.json()["error"]["code"] != code:
                findings.problems.append(f"{what} -> {answer.status_code} {answer.text[:200]}")
            if after != before:
                findings.problems.append(f"{what} -> {after - before} events written")
        await hostile_websocket(system.query_url, findings)
        alive = await queries.post(QUERIES, json={"type": "GetUser", "data": {"id": holder}})
        if alive.status_code not in (200, 404):
            findings.problems.append(f"the replica afterwards -> {alive.status_code}")
    print(f"\nhostile: {findings.answers} refused, problems {len(findings.problems)}", flush=True)
    assert not findings.problems, "\n".join(findings.problems)


def imported_user(user_id: str, address: str) -> dict[str, Any]:
    return {
        "type": "UserCreated",
        "data": {
            "user_id": user_id,
            "name": "Imported",
            "email": address,
            "created_at": "2023-01-01T00:00:00Z",
        },
    }


async def hostile_websocket(query_url: str, findings: Findings) -> None:
    ws_url = query_url.replace("http", "ws", 1) + "/ws?subscribe=events"
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.recv()  # the subscription's ack
        await ws.send(json.dumps({"op": "subscribe", "channels": [f"U:{i}" for i in range(5000)]}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if refused.get("type") != "error" or "at most" not in refused.get("error", ""):
            findings.problems.append(f"5,000 channels -> {refused}")
        await ws.send(json.dumps({"op": "unsubscribe", "channels": []}))
        still = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if still.get("channels") != ["events"]:
            findings.problems.append(f"after 5,000 channels, subscribed to {still}")
        await ws.send("x" * 100_000)  # over the 64 KiB frame bound
        try:
            await asyncio.wait_for(ws.recv(), 10)
            findings.problems.append("a 100 KB frame did not close the connection")
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is None or closed.rcvd.code != 1009:
                findings.problems.append(f"a 100 KB frame closed with {closed.rcvd}")
