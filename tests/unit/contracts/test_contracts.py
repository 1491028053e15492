"""Command, event and envelope contracts: tolerant readers, id aliases, money as text."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from cqrs_contracts import commands as cmd
from cqrs_contracts.commands import COMMAND_TYPES
from cqrs_contracts.envelopes import AppendEventRequest, CommandRequest, EventEnvelope
from cqrs_contracts.events import EVENT_TYPES, OrderCreated, UserCreated
from cqrs_contracts.settings import Settings

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def test_commands_ignore_unknown_fields() -> None:
    command = cmd.CreateUser.model_validate(
        {"name": "Ada", "email": "ada@example.com", "favourite_colour": "blue"}
    )

    assert command.model_dump() == {"name": "Ada", "email": "ada@example.com", "age": None}


def test_command_strings_are_stripped() -> None:
    assert cmd.CreateUser(name="  Ada ").name == "Ada"


def test_events_ignore_unknown_fields() -> None:
    event = UserCreated.model_validate(
        {"user_id": "u", "name": "Ada", "email": "a@b.co", "created_at": NOW, "shoe_size": 38}
    )

    assert not hasattr(event, "shoe_size")
    assert event == UserCreated(user_id="u", name="Ada", email="a@b.co", created_at=NOW)


def test_event_envelope_ignores_unknown_fields_but_keeps_metadata_extras() -> None:
    envelope = EventEnvelope.model_validate(
        {
            "event_id": "e-1",
            "stream_type": "user",
            "stream_id": "u",
            "version": 1,
            "type": "UserCreated",
            "schema_version": 2,
            "data": {},
            "metadata": {"correlation_id": "c-1", "tenant": "acme"},
            "occurred_at": NOW,
            "partition": 7,
        }
    )

    assert "partition" not in envelope.model_dump()
    assert envelope.position is None
    assert envelope.metadata.correlation_id == "c-1"
    assert envelope.metadata.model_dump()["tenant"] == "acme"


def test_command_request_needs_only_type_and_data_and_ignores_the_rest() -> None:
    request = CommandRequest.model_validate({"type": "CreateUser", "data": {}, "foo": 1})

    assert (request.type, request.id, request.idempotency_key) == ("CreateUser", None, None)
    assert "foo" not in request.model_dump()


def test_append_event_request_ignores_unknown_fields() -> None:
    request = AppendEventRequest.model_validate({"type": "UserDeleted", "data": {}, "x": 1})

    assert "x" not in request.model_dump()


@pytest.mark.parametrize(
    ("command", "field", "extra"),
    [
        (cmd.UpdateUser, "user_id", {}),
        (cmd.DeleteUser, "user_id", {}),
        (cmd.UpdateOrder, "order_id", {}),
        (cmd.CancelOrder, "order_id", {}),
        (cmd.RefundPayment, "payment_id", {"amount": "1"}),
    ],
)
def test_id_is_accepted_as_an_alias_of_the_aggregate_id(
    command: type[cmd.CommandData], field: str, extra: dict
) -> None:
    by_alias = command.model_validate({"id": "abc", **extra})
    by_name = command.model_validate({field: "abc", **extra})

    assert getattr(by_alias, field) == getattr(by_name, field) == "abc"


def test_a_command_without_its_aggregate_id_is_invalid() -> None:
    with pytest.raises(ValidationError):
        cmd.DeleteUser.model_validate({})


def test_amount_serialises_as_a_string_in_json_mode() -> None:
    event = OrderCreated(
        order_id="o", user_id="u", amount=Decimal("12.50"), currency="USD", created_at=NOW
    )

    assert event.model_dump(mode="json")["amount"] == "12.50"
    assert json.loads(event.model_dump_json())["amount"] == "12.50"
    assert event.model_dump()["amount"] == Decimal("12.50")


def test_amount_is_exact_and_has_at_most_two_decimals() -> None:
    amount = cmd.CreateOrder(amount="0.1").amount
    assert amount is not None
    assert amount + Decimal("0.2") == Decimal("0.3")
    with pytest.raises(ValidationError):
        cmd.CreateOrder(amount="1.001")


def test_refund_amount_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        cmd.RefundPayment(payment_id="p", amount="0")


def test_every_supported_command_type_has_a_contract(settings: Settings) -> None:
    supported = settings.cqrs.supported_command_types

    assert supported
    assert set(supported) <= set(COMMAND_TYPES)


def test_every_supported_event_type_has_a_contract(settings: Settings) -> None:
    supported = settings.cqrs.supported_event_types

    assert supported
    assert set(supported) <= set(EVENT_TYPES)
    assert all(EVENT_TYPES[name].event_type() == name for name in supported)
    assert {EVENT_TYPES[name].STREAM_TYPE for name in supported} == {"user", "order", "payment"}


def test_rule_groups_named_by_commands_are_configured(settings: Settings) -> None:
    groups = {c.RULES for c in COMMAND_TYPES.values() if c.RULES is not None}

    assert groups <= set(settings.cqrs.validation_rules)
