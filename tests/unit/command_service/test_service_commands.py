"""CommandService on the in-memory store: users, orders and payments are decided,
appended with their outbox rows, logged and answered with a consistency token; refusals
are logged and append nothing; disabled, unsupported and declared command types."""

import uuid

from command_service.application.command_handlers import BUILT_IN
from command_service.application.declared_commands import declared_spec
from cqrs_contracts.consistency import StreamVersion, decode_token
from cqrs_contracts.handlers import CommandDeclaration
from tests.unit.command_service.helpers import (
    Service,
    error_code,
    make_settings,
    unique_email,
    user_data,
)


async def test_create_user_appends_logs_and_answers_with_a_token() -> None:
    s = Service()
    answer = await s.send("CreateUser", user_data(age=41), id="cmd-1")
    assert answer.http_status == 200
    body = answer.body
    uid = body["aggregate_id"]
    assert (body["command_id"], body["status"], body["version"]) == ("cmd-1", "accepted", 1)
    [event] = body["events"]
    assert (event["type"], event["stream_id"], event["version"]) == ("UserCreated", uid, 1)
    assert event["position"] is not None
    assert event["metadata"]["command_id"] == "cmd-1"
    assert decode_token(body["consistency_token"]) == [StreamVersion("user", uid, 1)]
    assert [e.event_id for e in s.stream(uid)] == [event["event_id"]]
    assert [row["event_id"] for row in s.store.tables.outbox] == [event["event_id"]]
    record = s.store.tables.command_log["cmd-1"]
    assert (record.status, record.aggregate_id, record.event_ids) == (
        "accepted",
        uid,
        [event["event_id"]],
    )
    assert s.commits == [None]  # the relay was told


async def test_update_and_delete_user_advance_the_stream() -> None:
    s = Service()
    uid = await s.new_user()
    updated = await s.accept("UpdateUser", {"id": uid, "age": 50})
    assert updated["version"] == 2
    assert decode_token(updated["consistency_token"]) == [StreamVersion("user", uid, 2)]
    deleted = await s.accept("DeleteUser", {"id": uid})
    assert [e["type"] for e in deleted["events"]] == ["UserDeleted"]
    assert [e.version for e in s.stream(uid)] == [1, 2, 3]
    gone = await s.send("UpdateUser", {"id": uid, "age": 51})
    assert error_code(gone, 409) == "user_deleted"


async def test_an_email_is_taken_until_its_user_is_deleted() -> None:
    s = Service()
    email = unique_email()
    holder = await s.new_user(email)
    taken = await s.send("CreateUser", user_data(email.upper()))
    assert error_code(taken, 409) == "email_taken"
    assert taken.body["error"]["details"]["field"] == "email"
    assert s.logged(taken.command_id) == ("rejected", 409)
    other = await s.new_user()
    moved = await s.send("UpdateUser", {"id": other, "email": email})
    assert error_code(moved, 409) == "email_taken"
    await s.accept("DeleteUser", {"id": holder})
    assert (await s.send("CreateUser", user_data(email))).http_status == 200


async def test_a_refused_command_is_logged_and_appends_nothing() -> None:
    s = Service()
    unknown = str(uuid.uuid4())
    answer = await s.send("UpdateUser", {"id": unknown, "age": 40})
    assert error_code(answer, 404) == "not_found"
    assert s.logged(answer.command_id) == ("rejected", 404)
    assert s.store.tables.events == []
    assert s.store.tables.outbox == []


async def test_invalid_data_is_422_naming_the_fields() -> None:
    s = Service()
    answer = await s.send("CreateUser", {"name": "", "email": "not-an-email", "age": -3})
    assert error_code(answer, 422) == "validation_failed"
    fields = {f["field"] for f in answer.body["error"]["details"]["fields"]}
    assert {"email", "age"} <= fields
    assert s.logged(answer.command_id) == ("rejected", 422)


async def test_orders_and_payments_touch_both_streams_and_token_both() -> None:
    s = Service()
    uid = await s.new_user()
    order = await s.accept("CreateOrder", {"user_id": uid, "amount": "100.00", "currency": "USD"})
    oid = order["aggregate_id"]
    await s.accept("UpdateOrder", {"id": oid, "amount": "80.00"})
    pay = {"order_id": oid, "amount": "30.00", "currency": "USD", "method": "credit_card"}
    paid = await s.accept("ProcessPayment", pay)
    pid = paid["aggregate_id"]
    assert sorted(decode_token(paid["consistency_token"])) == sorted(
        [StreamVersion("payment", pid, 1), StreamVersion("order", oid, 3)]
    )
    refunded = await s.accept("RefundPayment", {"id": pid, "amount": "10.00"})
    assert [(e["stream_type"], e["version"]) for e in refunded["events"]] == [
        ("payment", 2),
        ("order", 4),
    ]
    too_much = await s.send("RefundPayment", {"id": pid, "amount": "20.01"})
    assert error_code(too_much, 409) == "amount_exceeds_refundable"
    cancel = await s.send("CancelOrder", {"id": oid})
    assert error_code(cancel, 409) == "order_paid"
    assert [e.version for e in s.stream(oid)] == [1, 2, 3, 4]


async def test_a_pinned_expected_version_must_match() -> None:
    s = Service()
    uid = await s.new_user()
    stale = await s.send("UpdateUser", {"id": uid, "age": 31}, expected_version=0)
    assert error_code(stale, 409) == "version_conflict"
    details = stale.body["error"]["details"]
    assert (details["expected_version"], details["current_version"]) == (0, 1)
    fresh = await s.send("UpdateUser", {"id": uid, "age": 31}, expected_version=1)
    assert fresh.http_status == 200


async def test_a_disabled_type_is_refused_until_enabled() -> None:
    s = Service()
    s.service.use(dict(BUILT_IN), frozenset({"CreateUser"}))
    refused = await s.send("CreateUser", user_data())
    assert error_code(refused, 400) == "command_disabled"
    assert s.logged(refused.command_id) == ("rejected", 400)
    s.service.use(dict(BUILT_IN), frozenset())
    assert (await s.send("CreateUser", user_data())).http_status == 200


async def test_unknown_and_unsupported_types_are_400_listing_the_supported() -> None:
    base = make_settings()
    cqrs = base.cqrs.model_copy(update={"supported_command_types": ["CreateUser"]})
    s = Service(settings=base.model_copy(update={"cqrs": cqrs}))
    unknown = await s.send("LaunchRocket", {})
    assert error_code(unknown, 400) == "unknown_type"
    assert unknown.body["error"]["details"]["supported"] == ["CreateUser"]
    unsupported = await s.send("DeleteUser", {"id": str(uuid.uuid4())})
    assert error_code(unsupported, 400) == "unknown_type"


async def test_a_declared_type_runs_through_the_same_store_and_log() -> None:
    s = Service()
    decl = CommandDeclaration.model_validate(
        {
            "name": "OpenTicket",
            "schema": {
                "type": "object",
                "properties": {"ticket_id": {"type": "string"}, "title": {"type": "string"}},
                "required": ["ticket_id", "title"],
            },
            "stream_type": "ticket",
            "id_field": "ticket_id",
            "event_type": "TicketOpened",
            "precondition": "not_exists",
        }
    )
    s.service.use({**BUILT_IN, "OpenTicket": declared_spec(decl)}, frozenset())
    tid = f"t-{uuid.uuid4().hex[:8]}"
    opened = await s.accept("OpenTicket", {"ticket_id": tid, "title": "broken"})
    assert decode_token(opened["consistency_token"]) == [StreamVersion("ticket", tid, 1)]
    assert [(e.type, e.data["title"]) for e in s.stream(tid)] == [("TicketOpened", "broken")]
    again = await s.send("OpenTicket", {"ticket_id": tid, "title": "twice"})
    assert error_code(again, 409) == "conflict"
    invalid = await s.send("OpenTicket", {"ticket_id": tid})
    assert error_code(invalid, 422) == "validation_failed"
