"""Commands through the real command-service reach the read models through Kafka."""

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.projector.helpers import wait_for_doc

COMMANDS = "/api/v1/cqrs/commands"


async def send(commands: AsyncTestClient, type_: str, **data: Any) -> dict[str, Any]:
    response = await commands.post(COMMANDS, json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    return response.json()


async def test_user_order_payment_flow_reaches_every_read_model(
    commands: AsyncTestClient, projector_admin: AsyncTestClient, read_db: Any
) -> None:
    user = await send(commands, "CreateUser", name="Ada", email=f"{uuid.uuid4().hex}@x.io", age=36)
    uid = user["aggregate_id"]
    order = await send(commands, "CreateOrder", user_id=uid, amount="100.00", currency="EUR")
    oid = order["aggregate_id"]
    payment = await send(
        commands, "ProcessPayment", order_id=oid, amount="40", currency="EUR", method="upi"
    )
    pid = payment["aggregate_id"]

    users = await wait_for_doc(read_db, "users", uid, uid, 1)
    orders = await wait_for_doc(read_db, "orders", oid, oid, 2)
    payments = await wait_for_doc(read_db, "payments", pid, pid, 1)
    user_orders = await wait_for_doc(read_db, "user_orders", uid, oid, 2)
    order_payments = await wait_for_doc(read_db, "order_payments", oid, pid, 1)

    assert users["name"] == "Ada"
    assert (orders["status"], str(orders["paid_amount"])) == ("partially_paid", "40.00")
    assert payments["method"] == "upi"
    assert user_orders["order_count"] == 1
    assert str(user_orders["totals"]["EUR"]["paid"]) == "40.00"
    assert (str(order_payments["paid"]), str(order_payments["balance"])) == ("40.00", "60.00")
