"""Helpers for the query-service tests: commands through the real command-service, queries
with their consistency tokens, so no test has to sleep for the projector."""

import uuid
from typing import Any

import httpx

COMMANDS = "/api/v1/cqrs/commands"
QUERIES = "/api/v1/cqrs/queries"
READ_MODELS = "/api/v1/cqrs/read-models"


def tag() -> str:
    """A short unique marker for names, so list filters only see this test's data."""
    return uuid.uuid4().hex[:10]


def email() -> str:
    return f"q{uuid.uuid4().hex[:12]}@example.com"


async def send(commands: httpx.AsyncClient, type_: str, **data: Any) -> tuple[str, str]:
    """Run a command; (aggregate id, consistency token)."""
    answer = await commands.post(COMMANDS, json={"type": type_, "data": data})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return str(body["aggregate_id"]), str(body["consistency_token"])


async def new_user(
    commands: httpx.AsyncClient, name: str = "Query User", age: int = 30, mail: str | None = None
) -> tuple[str, str]:
    return await send(commands, "CreateUser", name=name, email=mail or email(), age=age)


async def new_order(
    commands: httpx.AsyncClient, user_id: str, amount: str = "10.00", currency: str = "USD"
) -> tuple[str, str]:
    return await send(commands, "CreateOrder", user_id=user_id, amount=amount, currency=currency)


async def new_payment(
    commands: httpx.AsyncClient,
    order_id: str,
    amount: str = "5.00",
    currency: str = "USD",
    method: str = "credit_card",
) -> tuple[str, str]:
    data = {"order_id": order_id, "amount": amount, "currency": currency, "method": method}
    return await send(commands, "ProcessPayment", **data)


async def ask(
    queries: httpx.AsyncClient,
    type_: str,
    data: dict[str, Any] | None = None,
    token: str | None = None,
    **headers: str,
) -> httpx.Response:
    """POST one query `{type, data}`; the token goes in X-Consistency-Token."""
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if token:
        sent["X-Consistency-Token"] = token
    return await queries.post(QUERIES, json={"type": type_, "data": data or {}}, headers=sent)


async def answer(
    queries: httpx.AsyncClient,
    type_: str,
    data: dict[str, Any] | None = None,
    token: str | None = None,
    **headers: str,
) -> dict[str, Any]:
    """The body of a query that must succeed."""
    response = await ask(queries, type_, data, token, **headers)
    assert response.status_code == 200, response.text
    return response.json()


async def items(
    queries: httpx.AsyncClient, type_: str, data: dict[str, Any], token: str | None = None
) -> list[dict[str, Any]]:
    """The items of one list page."""
    return list((await answer(queries, type_, data, token))["result"]["items"])


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of an error answer (one shape everywhere), after its status."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert {"code", "message", "details"} <= set(error), error
    return dict(error)
