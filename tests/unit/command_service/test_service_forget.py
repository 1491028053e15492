"""ForgetUser through the service on the in-memory store: admin only, and from then on
every command on the forgotten user is a 410 in the one error shape."""

from command_service.application.service import Caller
from tests.unit.command_service.helpers import Service

ADMIN = Caller(actor="admin", admin=True)


async def test_forget_user_needs_the_admin_role() -> None:
    s = Service()
    user = await s.accept("CreateUser", {"name": "Ada", "email": "ada@x.io", "age": 36})
    refused = await s.send("ForgetUser", {"id": user["aggregate_id"]})

    assert refused.http_status == 403
    assert refused.body["error"]["code"] == "forbidden"
    assert [e.type for e in s.store.tables.events] == ["UserCreated"]


async def test_after_forget_user_commands_on_them_are_gone_and_their_email_is_free() -> None:
    s = Service()
    user = await s.accept("CreateUser", {"name": "Ada", "email": "ada@x.io", "age": 36})
    uid = user["aggregate_id"]
    forgot = await s.send("ForgetUser", {"id": uid}, caller=ADMIN)
    assert forgot.http_status == 200, forgot.body
    assert [e["type"] for e in forgot.body["events"]] == ["UserForgotten"]

    for type_, data in (
        ("UpdateUser", {"id": uid, "age": 37}),
        ("DeleteUser", {"id": uid}),
        ("ForgetUser", {"id": uid}),
        ("CreateOrder", {"user_id": uid, "amount": "5.00", "currency": "USD"}),
    ):
        answer = await s.send(type_, data, caller=ADMIN)
        assert answer.http_status == 410, (type_, answer.body)
        assert answer.body["error"]["code"] == "user_forgotten"
    again = await s.send("CreateUser", {"name": "Bea", "email": "ADA@x.io", "age": 30})
    assert again.http_status == 200, again.body


async def test_a_taken_email_is_refused_without_echoing_it() -> None:
    s = Service()
    await s.accept("CreateUser", {"name": "Ada", "email": "ada@x.io", "age": 36})
    taken = await s.send("CreateUser", {"name": "Bea", "email": "ada@x.io", "age": 30})

    assert taken.http_status == 409
    assert taken.body["error"]["code"] == "email_taken"
    assert "ada@x.io" not in str(taken.body)
    assert all("ada@x.io" not in str(r.error) for r in s.store.tables.command_log.values())
