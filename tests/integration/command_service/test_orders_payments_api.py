"""Order and payment commands through the real HTTP app and MariaDB."""

import uuid

from litestar.testing import AsyncTestClient

from tests.integration.command_service.helpers import (
    accept,
    command,
    create_order,
    create_user,
    error_of,
    field_rules,
    only_event,
    pay,
    pay_data,
    refund,
)


async def new_order(client: AsyncTestClient, amount: str = "100.00") -> str:
    user = await create_user(client)
    return (await create_order(client, user["aggregate_id"], amount))["aggregate_id"]


def order_status(answer: dict) -> str:
    return only_event(answer, "OrderUpdated")["data"]["status"]


# --- CreateOrder -------------------------------------------------------------------------


async def test_create_order_for_a_live_user(client: AsyncTestClient) -> None:
    user_id = (await create_user(client))["aggregate_id"]
    answer = await create_order(client, user_id, "12.50", "EUR")
    event = only_event(answer, "OrderCreated")
    assert (event["stream_type"], event["stream_id"], event["version"]) == (
        "order",
        answer["aggregate_id"],
        1,
    )
    assert event["data"]["user_id"] == user_id
    assert (event["data"]["amount"], event["data"]["currency"]) == ("12.50", "EUR")
    assert event["data"]["status"] == "pending"


async def test_create_order_for_an_unknown_user_is_404(client: AsyncTestClient) -> None:
    data = {"user_id": str(uuid.uuid4()), "amount": "10.00", "currency": "USD"}
    error = error_of(await command(client, "CreateOrder", data), 404)
    assert error["code"] == "not_found"


async def test_create_order_for_a_deleted_user_is_409(client: AsyncTestClient) -> None:
    user_id = (await create_user(client))["aggregate_id"]
    await accept(client, "DeleteUser", {"id": user_id})
    data = {"user_id": user_id, "amount": "10.00", "currency": "USD"}
    assert error_of(await command(client, "CreateOrder", data), 409)["code"] == "user_deleted"


# --- UpdateOrder -------------------------------------------------------------------------


async def test_update_order_while_pending_then_not_after_a_payment(
    client: AsyncTestClient,
) -> None:
    order_id = await new_order(client)
    updated = await accept(client, "UpdateOrder", {"id": order_id, "amount": "80.00"})
    event = only_event(updated, "OrderUpdated")
    assert (event["version"], event["data"]["amount"]) == (2, "80.00")

    await pay(client, order_id, "10.00")
    again = await command(client, "UpdateOrder", {"id": order_id, "description": "later"})
    assert error_of(again, 409)["code"] == "order_not_pending"


# --- CancelOrder -------------------------------------------------------------------------


async def test_cancel_a_pending_order_once(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    answer = await accept(client, "CancelOrder", {"id": order_id, "reason": "changed mind"})
    assert only_event(answer, "OrderCancelled")["data"]["reason"] == "changed mind"
    twice = await command(client, "CancelOrder", {"id": order_id})
    assert error_of(twice, 409)["code"] == "order_cancelled"


async def test_cancel_a_paid_order_needs_a_full_refund_first(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    payment_id = (await pay(client, order_id, "100.00"))["aggregate_id"]
    cancel = {"id": order_id}
    assert error_of(await command(client, "CancelOrder", cancel), 409)["code"] == "order_paid"

    await refund(client, payment_id, "30.00")
    assert error_of(await command(client, "CancelOrder", cancel), 409)["code"] == "order_paid"

    await refund(client, payment_id, "70.00")
    answer = await accept(client, "CancelOrder", cancel)
    assert only_event(answer, "OrderCancelled")["stream_id"] == order_id


# --- ProcessPayment ----------------------------------------------------------------------


async def test_payment_in_another_currency_is_409(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    response = await command(client, "ProcessPayment", pay_data(order_id, "10.00", "EUR"))
    assert error_of(response, 409)["code"] == "currency_mismatch"


async def test_payment_above_the_outstanding_amount_is_409(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    await pay(client, order_id, "60.00")
    error = error_of(await command(client, "ProcessPayment", pay_data(order_id, "40.01")), 409)
    assert error["code"] == "amount_exceeds_outstanding"
    assert error["details"]["outstanding"] == "40.00"


async def test_partial_then_full_payment(client: AsyncTestClient) -> None:
    order_id = await new_order(client)

    first = await pay(client, order_id, "40.00")
    payment_id = first["aggregate_id"]
    streams = {(e["stream_type"], e["stream_id"], e["version"], e["type"]) for e in first["events"]}
    assert streams == {
        ("payment", payment_id, 1, "PaymentProcessed"),
        ("order", order_id, 2, "OrderUpdated"),
    }
    assert first["version"] == 1
    assert first["consistency_token"] == f"order:{order_id}@2,payment:{payment_id}@1"
    assert order_status(first) == "partially_paid"
    assert only_event(first, "OrderUpdated")["data"]["paid_amount"] == "40.00"
    assert only_event(first, "PaymentProcessed")["data"]["order_id"] == order_id

    second = await pay(client, order_id, "60.00")
    assert order_status(second) == "paid"
    assert only_event(second, "OrderUpdated")["data"]["paid_amount"] == "100.00"
    assert only_event(second, "OrderUpdated")["version"] == 3

    more = await command(client, "ProcessPayment", pay_data(order_id, "1.00"))
    assert error_of(more, 409)["code"] == "order_not_pending"


# --- RefundPayment -----------------------------------------------------------------------


async def test_refund_above_the_refundable_amount_is_409(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    payment_id = (await pay(client, order_id, "60.00"))["aggregate_id"]
    await refund(client, payment_id, "50.00")
    response = await command(client, "RefundPayment", {"id": payment_id, "amount": "10.01"})
    error = error_of(response, 409)
    assert error["code"] == "amount_exceeds_refundable"
    assert error["details"]["refundable"] == "10.00"


async def test_partial_then_full_refund(client: AsyncTestClient) -> None:
    order_id = await new_order(client)
    payment_id = (await pay(client, order_id, "100.00"))["aggregate_id"]

    partial = await refund(client, payment_id, "25.00")
    refunded = only_event(partial, "PaymentRefunded")
    assert (refunded["version"], refunded["data"]["status"]) == (2, "partially_refunded")
    assert refunded["data"]["refunded_total"] == "25.00"
    assert order_status(partial) == "partially_paid"
    assert partial["consistency_token"] == f"order:{order_id}@3,payment:{payment_id}@2"

    full = await refund(client, payment_id, "75.00")
    assert only_event(full, "PaymentRefunded")["data"]["status"] == "refunded"
    assert only_event(full, "OrderUpdated")["data"]["refunded_amount"] == "100.00"
    assert order_status(full) == "refunded"

    nothing_left = await command(client, "RefundPayment", {"id": payment_id, "amount": "0.01"})
    assert error_of(nothing_left, 409)["code"] == "amount_exceeds_refundable"


async def test_refund_of_an_unknown_payment_is_404(client: AsyncTestClient) -> None:
    response = await command(client, "RefundPayment", {"id": str(uuid.uuid4()), "amount": "1"})
    assert error_of(response, 404)["code"] == "not_found"


# --- config validation rules (422, one entry per field) ------------------------------------


async def test_order_rules_give_one_error_per_field(client: AsyncTestClient) -> None:
    data = {"user_id": "not-a-uuid", "amount": "0.001", "currency": "YEN"}
    rules = field_rules(await command(client, "CreateOrder", data))
    assert rules == {"user_id": "format", "amount": "min", "currency": "enum"}


async def test_order_rules_require_every_field(client: AsyncTestClient) -> None:
    rules = field_rules(await command(client, "CreateOrder", {"description": "x"}))
    assert rules == {"user_id": "required", "amount": "required", "currency": "required"}


async def test_order_amount_that_is_no_number_is_one_error(client: AsyncTestClient) -> None:
    data = {"user_id": str(uuid.uuid4()), "amount": "lots", "currency": "USD"}
    assert field_rules(await command(client, "CreateOrder", data)) == {"amount": "type"}


async def test_update_order_checks_only_the_fields_it_carries(client: AsyncTestClient) -> None:
    data = {"id": str(uuid.uuid4()), "currency": "usd"}
    assert field_rules(await command(client, "UpdateOrder", data)) == {"currency": "enum"}


async def test_payment_rules_give_one_error_per_field(client: AsyncTestClient) -> None:
    data = {"order_id": "42", "amount": -5, "currency": "XXX", "method": "cash"}
    rules = field_rules(await command(client, "ProcessPayment", data))
    assert rules == {"order_id": "format", "amount": "min", "currency": "enum", "method": "enum"}


async def test_payment_method_must_be_a_configured_one(client: AsyncTestClient) -> None:
    data = pay_data(str(uuid.uuid4()), "5.00") | {"method": "bitcoin"}
    assert field_rules(await command(client, "ProcessPayment", data)) == {"method": "enum"}
