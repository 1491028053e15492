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
import time
import uuid
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.tables import events
from cqrs_contracts.queries import QUERY_TYPES
from tests.chaos.bad_input import INJECTIONS, Findings
from tests.chaos.system import System

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
    """Wait (bounded) until the projector has taken every event; how many it dead-lettered."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        deadline = time.monotonic() + within
        while True:
            status = (await client.get("/api/v1/cqrs/projections")).json()
            lag = max(p["lag"] for p in status["projections"].values())
            if (lag == 0 and status["processed"] > 0) or time.monotonic() > deadline:
                return int(status["dead_lettered"])
            await asyncio.sleep(0.5)


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
