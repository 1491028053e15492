"""The whole system through the gateway: routing by resource (and for read models by
method: corrections go to the projector, their one writer), the original README's curl
examples, a user-order-payment-refund story seen through every query and read model,
live changes (of events and of corrections) on each query replica's WebSocket, and
read-your-writes."""

import asyncio
import json
import shlex
import subprocess
import uuid
from decimal import Decimal
from typing import Any

import httpx
import websockets

from tests.integration.command_service.test_original_examples import (
    PUBLISH_AN_EVENT,
    SEND_A_COMMAND,
)
from tests.integration.query_service.helpers import email, send
from tests.support.system import System

COMMANDS = "/api/v1/cqrs/commands"
QUERIES = "/api/v1/cqrs/queries"
READ_MODELS = "/api/v1/cqrs/read-models"

# Copied verbatim from the original README ("Sending a Query", "Creating a Read Model").
SEND_A_QUERY = """\
curl -X POST http://localhost:8080/api/v1/cqrs/queries \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "GetUser",
    "data": {
      "id": "user-123"
    }
  }'"""

CREATE_A_READ_MODEL = """\
curl -X POST http://localhost:8080/api/v1/cqrs/read-models \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "UserReadModel",
    "data": {
      "id": "user-123",
      "name": "John Doe",
      "email": "john@example.com",
      "age": 30,
      "created_at": "2023-01-01T00:00:00Z",
      "updated_at": "2023-01-01T00:00:00Z"
    }
  }'"""


def curl(example: str, gateway: str) -> tuple[int, dict[str, Any]]:
    """Run a README example with curl, word for word but for the gateway's address."""
    argv = shlex.split(example.replace("http://localhost:8080", gateway).replace("\\\n", " "))
    argv[1:1] = ["-sS", "-w", "\n%{http_code}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


async def ask(gateway: httpx.AsyncClient, type_: str, token: str, **data: Any) -> dict[str, Any]:
    response = await gateway.post(
        QUERIES, json={"type": type_, "data": data}, headers={"X-Consistency-Token": token}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_gateway_routes_each_resource_to_its_service(
    gateway: httpx.AsyncClient,
) -> None:
    command = await gateway.post(
        COMMANDS,
        json={"type": "CreateUser", "data": {"name": "Router", "email": email(), "age": 30}},
    )
    query = await gateway.post(QUERIES, json={"type": "ListUsers", "data": {"limit": 1}})
    events = await gateway.get("/api/v1/cqrs/events", params={"limit": 1})
    read_models = await gateway.get(READ_MODELS, params={"type": "UserReadModel", "limit": 1})
    correction = {"type": "UserReadModel", "data": {"id": f"router-{uuid.uuid4().hex[:12]}"}}
    corrected = await gateway.post(READ_MODELS, json=correction)
    removed = await gateway.delete(
        f"{READ_MODELS}/{corrected.json()['id']}", params={"type": "UserReadModel"}
    )
    projections = await gateway.get("/api/v1/cqrs/projections")
    unknown = await gateway.get("/no/such/route")

    served = {
        "commands": command.headers.get("x-served-by"),
        "queries": query.headers.get("x-served-by"),
        "events": events.headers.get("x-served-by"),
        "read-models": read_models.headers.get("x-served-by"),
        "read-model corrections": corrected.headers.get("x-served-by"),
        "read-model deletions": removed.headers.get("x-served-by"),
        "projections": projections.headers.get("x-served-by"),
    }
    assert served == {
        "commands": "command-service",
        "queries": "query-service",
        "events": "command-service",
        "read-models": "query-service",
        "read-model corrections": "projector",  # the one writer of the read models
        "read-model deletions": "projector",
        "projections": "projector",
    }
    for response in (command, query, events, read_models, corrected, removed, projections):
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"]
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"code", "message", "details"}


async def test_reads_are_balanced_over_both_query_replicas(
    gateway: httpx.AsyncClient, system: System
) -> None:
    upstreams = set()
    for _ in range(12):
        response = await gateway.post(QUERIES, json={"type": "ListUsers", "data": {"limit": 1}})
        assert response.status_code == 200, response.text
        upstreams.add(response.headers["x-upstream"])
    assert upstreams == {r.removeprefix("http://") for r in system.query_replicas}


async def test_the_original_readme_examples_work_through_the_gateway(system: System) -> None:
    event_status, event = await asyncio.to_thread(curl, PUBLISH_AN_EVENT, system.gateway)
    model_status, model = await asyncio.to_thread(curl, CREATE_A_READ_MODEL, system.gateway)
    query_status, query = await asyncio.to_thread(curl, SEND_A_QUERY, system.gateway)
    sent_status, sent = await asyncio.to_thread(curl, SEND_A_COMMAND, system.gateway)

    assert event_status in (200, 201), event
    # the command example names the email the event example gave user-123: one email
    # belongs to one user, whether it came by a command or by an import
    assert (sent_status, sent["error"]["code"]) == (409, "email_taken"), sent
    assert (model_status, model["id"], model["type"]) == (200, "user-123", "UserReadModel")
    assert query_status == 200, query
    assert query["result"]["id"] == "user-123"
    assert query["result"]["name"] == "John Doe"


async def test_a_story_is_seen_through_every_query_and_read_model(
    gateway: httpx.AsyncClient,
) -> None:
    user, _ = await send(gateway, "CreateUser", name="Story", email=email(), age=41)
    order, _ = await send(
        gateway, "CreateOrder", user_id=user, amount="80.00", currency="EUR", description="desk"
    )
    payment, _ = await send(
        gateway,
        "ProcessPayment",
        order_id=order,
        amount="50.00",
        currency="EUR",
        method="debit_card",
    )
    _, token = await send(gateway, "RefundPayment", payment_id=payment, amount="20.00")

    got_user = await ask(gateway, "GetUser", token, id=user)
    users = await ask(gateway, "ListUsers", token, name="Story", limit=100)
    got_order = await ask(gateway, "GetOrder", token, id=order)
    orders = await ask(gateway, "ListOrders", token, user_id=user)
    got_payment = await ask(gateway, "GetPayment", token, id=payment)
    payments = await ask(gateway, "ListPayments", token, order_id=order)
    user_orders = await ask(gateway, "GetUserOrders", token, id=user)
    order_payments = await ask(gateway, "GetOrderPayments", token, id=order)

    assert (got_user["result"]["name"], got_user["result"]["age"]) == ("Story", 41)
    assert user in [u["id"] for u in users["result"]["items"]]
    assert Decimal(got_order["result"]["paid_amount"]) == Decimal("50.00")
    assert Decimal(got_order["result"]["refunded_amount"]) == Decimal("20.00")
    assert [o["id"] for o in orders["result"]["items"]] == [order]
    assert Decimal(got_payment["result"]["refunded_amount"]) == Decimal("20.00")
    assert [p["id"] for p in payments["result"]["items"]] == [payment]
    assert user_orders["result"]["order_count"] == 1
    assert Decimal(order_payments["result"]["paid"]) == Decimal("50.00")
    assert Decimal(order_payments["result"]["refunded"]) == Decimal("20.00")
    assert Decimal(order_payments["result"]["balance"]) == Decimal("50.00")
    for kind, doc_id in (
        ("UserReadModel", user),
        ("OrderReadModel", order),
        ("PaymentReadModel", payment),
        ("UserOrderReadModel", user),
        ("OrderPaymentReadModel", order),
    ):
        stored = await gateway.get(f"{READ_MODELS}/{doc_id}", params={"type": kind})
        assert stored.status_code == 200, (kind, stored.text)
        assert stored.json()["type"] == kind


async def test_every_query_replica_pushes_the_change_on_its_websocket(
    gateway: httpx.AsyncClient, system: System
) -> None:
    urls = [
        r.replace("http://", "ws://") + "/ws?subscribe=UserReadModel" for r in system.query_replicas
    ]
    urls.append(system.gateway.replace("http://", "ws://") + "/ws?subscribe=UserReadModel")
    async with (
        websockets.connect(urls[0]) as one,
        websockets.connect(urls[1]) as two,
        websockets.connect(urls[2]) as through_gateway,
    ):
        for ws in (one, two, through_gateway):
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ack"
        user, _ = await send(gateway, "CreateUser", name="Live", email=email(), age=25)

        async def change_for(ws: websockets.ClientConnection) -> dict[str, Any]:
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("id") == user:
                    return dict(frame)

        frames = await asyncio.wait_for(
            asyncio.gather(*(change_for(ws) for ws in (one, two, through_gateway))), 20
        )
    for frame in frames:
        assert (frame["channel"], frame["read_model"], frame["version"]) == (
            "UserReadModel",
            "UserReadModel",
            1,
        )
        assert frame["data"]["name"] == "Live"


async def test_a_correction_through_the_gateway_reaches_every_query_replica(
    gateway: httpx.AsyncClient, system: System
) -> None:
    """POSTed to the gateway, applied by the projector, announced: each query replica's
    WebSocket pushes it and each replica reads it."""
    doc_id = f"corrected-{uuid.uuid4().hex[:12]}"
    urls = [
        r.replace("http://", "ws://") + f"/ws?subscribe=UserReadModel:{doc_id}"
        for r in system.query_replicas
    ]
    async with websockets.connect(urls[0]) as one, websockets.connect(urls[1]) as two:
        for ws in (one, two):
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ack"
        body = {"type": "UserReadModel", "data": {"id": doc_id, "name": "Corrected"}}
        saved = await gateway.post(READ_MODELS, json=body)
        assert saved.status_code == 200, saved.text
        assert saved.headers["x-served-by"] == "projector"
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 20)) for ws in (one, two)]
    for frame in frames:
        assert (frame["read_model"], frame["id"], frame["data"]["name"]) == (
            "UserReadModel",
            doc_id,
            "Corrected",
        )
    for replica in system.query_replicas:
        async with httpx.AsyncClient(base_url=replica) as client:
            read = await client.get(f"{READ_MODELS}/{doc_id}", params={"type": "UserReadModel"})
        assert read.json()["data"]["name"] == "Corrected"


async def test_a_read_with_the_consistency_token_sees_its_write(
    gateway: httpx.AsyncClient,
) -> None:
    for age in range(30, 40):
        user, _ = await send(gateway, "CreateUser", name="RYW", email=email(), age=age)
        _, token = await send(gateway, "UpdateUser", id=user, age=age + 1)
        answer = await ask(gateway, "GetUser", token, id=user)
        assert answer["result"]["age"] == age + 1


async def test_invented_forwarded_addresses_do_not_escape_the_rate_limit(system: System) -> None:
    """A client on 127.0.0.2 writes a new X-Forwarded-For on every request: the gateway
    appends the address it saw, and the services count only that hop (the gateway is a
    trusted proxy, the client is not), so the admin budget (120 a minute) still holds."""
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=system.gateway, transport=transport) as client:
        statuses = [
            (
                await client.get(
                    "/api/v1/cqrs/events",  # in the admin group: 120 a minute
                    params={"limit": 1},
                    headers={"X-Forwarded-For": f"10.{i // 250}.{i % 250}.9"},
                )
            ).status_code
            for i in range(130)
        ]
    assert statuses[:120] == [200] * 120, statuses
    assert statuses[120:] == [429] * 10, statuses


async def test_the_original_health_check_works_on_the_gateway(system: System) -> None:
    """The original README's `GET /health` on the service's port (the gateway's here)."""
    async with httpx.AsyncClient(base_url=system.gateway) as client:
        answer = await client.get("/health")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok", "component": "gateway"}


async def test_time_travel_through_the_gateway_by_post_and_get(
    gateway: httpx.AsyncClient,
) -> None:
    """`as_of` asked through the gateway (POST /queries and GET /read-models) is folded
    from the event store by a query replica: the order as it was before its payment."""
    user, _ = await send(gateway, "CreateUser", name="Travel", email=email(), age=30)
    order, _ = await send(gateway, "CreateOrder", user_id=user, amount="40.00", currency="EUR")
    pay = {"order_id": order, "amount": "40.00", "currency": "EUR", "method": "upi"}
    _, token = await send(gateway, "ProcessPayment", **pay)
    live = await ask(gateway, "GetOrderPayments", token, id=order)
    assert (live["version"], Decimal(live["result"]["balance"])) == (2, Decimal("0"))
    before = await gateway.post(
        QUERIES, json={"type": "GetOrderPayments", "data": {"id": order, "as_of": 1}}
    )
    assert before.status_code == 200, before.text
    body = before.json()
    assert (body["version"], body["result"]["payments"]) == (1, [])
    assert Decimal(body["result"]["balance"]) == Decimal("40.00")
    assert body["as_of"]["version"] == 1
    at = body["as_of"]["at"]
    by_get = await gateway.get(
        f"{READ_MODELS}/{order}", params={"type": "OrderPaymentReadModel", "as_of": at}
    )
    assert by_get.status_code == 200, by_get.text
    assert by_get.json()["data"] == body["result"]
    now = await gateway.get(
        f"{READ_MODELS}/{order}", params={"type": "OrderPaymentReadModel", "as_of": "2"}
    )
    assert now.json()["data"] == live["result"]
    missing = await gateway.post(
        QUERIES, json={"type": "GetOrderPayments", "data": {"id": order, "as_of": 3}}
    )
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"]["code"] == "not_found"
