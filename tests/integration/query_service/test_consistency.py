"""Consistency tokens: a query waits (boundedly) for the versions a command reported; past
the bound it is a 504, or stale data flagged as such when the caller allows it."""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import (
    QUERIES,
    answer,
    ask,
    error_of,
    new_order,
    new_user,
    send,
)
from tests.support.polling import eventually

BOUND = 0.3  # CQRS__QUERY_SERVICE__CONSISTENCY_TIMEOUT of the impatient app


async def projected(client: AsyncTestClient, uid: str, token: str) -> None:
    """Wait (boundedly) until the user is in the read models: the bound here is short."""

    async def reached() -> bool:
        return (await ask(client, "GetUser", {"id": uid}, token)).status_code == 200

    await eventually(reached, timeout=10, what=f"user {uid} in the read models")


@pytest.fixture
async def impatient(
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]],
) -> AsyncIterator[AsyncTestClient]:
    async with query_client_with(CQRS__QUERY_SERVICE__CONSISTENCY_TIMEOUT=str(BOUND)) as client:
        yield client


async def test_a_version_that_never_comes_is_a_504_within_the_bound(
    commands: AsyncTestClient, impatient: AsyncTestClient
) -> None:
    uid, token = await new_user(commands)
    await projected(impatient, uid, token)
    started = time.monotonic()
    response = await ask(impatient, "GetUser", {"id": uid}, f"user:{uid}@999")
    took = time.monotonic() - started
    error = error_of(response, 504)
    assert error["code"] == "timeout"
    assert error["details"]["behind"] == [f"user:{uid}@999"]
    assert "X-Consistency" not in response.headers
    assert BOUND <= took < BOUND + 1.0, took


@pytest.mark.parametrize("how", ["header", "body"])
async def test_allow_stale_answers_stale_data_flagged(
    commands: AsyncTestClient, impatient: AsyncTestClient, how: str
) -> None:
    uid, token = await new_user(commands, name="Stale Sam")
    await projected(impatient, uid, token)
    future = f"user:{uid}@999"
    if how == "header":
        response = await ask(impatient, "GetUser", {"id": uid}, future, X_Allow_Stale="true")
    else:
        response = await impatient.post(
            QUERIES,
            json={"type": "GetUser", "data": {"id": uid}, "allow_stale": True},
            headers={"X-Consistency-Token": future},
        )
    assert response.status_code == 200, response.text
    assert response.headers["X-Consistency"] == "stale"
    body = response.json()
    assert body["stale"] is True
    assert (body["result"]["name"], body["version"]) == ("Stale Sam", 1)


async def test_a_reached_token_is_not_stale(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    uid, token = await new_user(commands)
    response = await ask(queries, "GetUser", {"id": uid}, token, X_Allow_Stale="true")
    assert response.status_code == 200
    assert "X-Consistency" not in response.headers
    assert response.json()["stale"] is False


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "user:abc",
        "user:abc@",
        "user@1",
        ":abc@1",
        "user:abc@-1",
        "user:abc@1.5",
        "user:abc@\u0661",  # a non-ASCII digit
        ",,,",
    ],
)
async def test_a_malformed_token_is_400(queries: AsyncTestClient, token: str) -> None:
    response = await queries.post(
        QUERIES,
        json={"type": "GetUser", "data": {"id": "whoever"}},
        headers={b"X-Consistency-Token": token.encode()},
    )
    assert error_of(response, 400)["code"] == "bad_request"


async def test_every_write_is_read_at_once_with_its_token(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    user, _ = await new_user(commands)
    updated, _ = await new_order(commands, user, "1.00")
    paid, _ = await new_order(commands, user, "1000.00")
    for n in range(1, 21):
        amount = f"{n + 1}.00"
        _, token = await send(commands, "UpdateOrder", order_id=updated, amount=amount)
        order = await answer(queries, "GetOrder", {"id": updated}, token)
        assert (order["result"]["amount"], order["version"]) == (amount, n + 1)

        payment, token = await send(
            commands,
            "ProcessPayment",
            order_id=paid,
            amount="1.00",
            currency="USD",
            method="upi",
        )
        payments = (await answer(queries, "GetOrderPayments", {"id": paid}, token))["result"]
        assert payment in [p["payment_id"] for p in payments["payments"]]
        assert (len(payments["payments"]), payments["paid"]) == (n, f"{n}.00")
