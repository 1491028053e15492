"""What a command's `metadata` becomes in the stored events' metadata: the caller's keys
are kept, the command id is the causation id, and the correlation id is the caller's or,
when none is given, the command id."""

from litestar.testing import AsyncTestClient

from tests.integration.command_service.helpers import EVENTS, accept, create_order, create_user


async def stored_metadata(client: AsyncTestClient, event_id: str) -> dict:
    response = await client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.text
    return response.json()["metadata"]


async def test_request_metadata_and_correlation_id_reach_every_stored_event(
    client: AsyncTestClient,
) -> None:
    user_id = (await create_user(client))["aggregate_id"]
    order = await create_order(client, user_id, "40.00")
    metadata = {"correlation_id": "checkout-42", "source": "crm", "tenant": "acme"}
    data = {"order_id": order["aggregate_id"], "amount": "40.00", "currency": "USD"}
    answer = await accept(
        client, "ProcessPayment", data | {"method": "credit_card"}, metadata=metadata
    )
    assert len(answer["events"]) == 2  # the payment's and the order's
    expected = metadata | {"command_id": answer["command_id"], "causation_id": answer["command_id"]}
    for event in answer["events"]:
        stored = await stored_metadata(client, event["event_id"])
        assert stored.items() >= expected.items(), stored


async def test_without_a_correlation_id_the_command_id_is_the_correlation_id(
    client: AsyncTestClient,
) -> None:
    answer = await create_user(client)
    [event] = answer["events"]
    stored = await stored_metadata(client, event["event_id"])
    command_id = answer["command_id"]
    assert (stored["command_id"], stored["correlation_id"], stored["causation_id"]) == (
        command_id,
        command_id,
        command_id,
    )
