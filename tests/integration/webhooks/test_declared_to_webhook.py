"""A command type declared at run time produces its event, the projector delivers it to a
registered webhook (a real HTTP receiver that checks the signature), and a read with the
command's consistency token is answered, though no read model projects that event."""

import uuid

from litestar.testing import AsyncTestClient

from tests.integration.command_service.test_declared_commands import (
    HANDLERS,
    open_ticket,
    register,
    unique,
)
from tests.integration.webhooks.conftest import Hooks
from tests.integration.webhooks.receiver import Receiver
from tests.integration.webhooks.test_delivery import got, run


async def test_a_declared_command_reaches_a_webhook_signed_and_its_token_is_honoured(
    commands: AsyncTestClient, queries: AsyncTestClient, hooks: Hooks, receiver: Receiver
) -> None:
    name = unique("OpenTicket")
    await register(commands, open_ticket(name))
    await hooks.add("/tickets", "TicketOpened")
    ticket = f"t-{uuid.uuid4().hex[:10]}"

    answer = await run(commands, name, ticket_id=ticket, title="Printer on fire", priority=1)
    await receiver.wait_for(got("/tickets", ticket, 1))
    read = await queries.post(
        "/api/v1/cqrs/queries",
        json={"type": "ListUsers", "data": {"limit": 1}},
        headers={"X-Consistency-Token": answer["consistency_token"]},
    )
    await commands.delete(f"{HANDLERS}/{name}")
    after = await commands.post(
        "/api/v1/cqrs/commands",
        json={"type": name, "data": {"ticket_id": f"{ticket}-2", "title": "Again"}},
    )

    [delivered] = [r for r in receiver.at("/tickets") if r.event["stream_id"] == ticket]
    event = answer["events"][0]
    assert delivered.signature_ok
    assert delivered.headers["x-cqrs-event-id"] == event["event_id"]
    assert (delivered.event["type"], delivered.event["data"]["title"]) == (
        "TicketOpened",
        "Printer on fire",
    )
    assert read.status_code == 200, read.text
    assert after.status_code == 400
    assert after.json()["error"]["code"] == "unknown_type"
