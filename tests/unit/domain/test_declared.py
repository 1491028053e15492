"""Declared commands: preconditions on the stream, the mapping into the event, ids."""

from typing import Any

import pytest

from command_service.domain.declared import StreamFacts, decide_declared
from command_service.domain.errors import InvalidCommandError, NotFoundError, RuleBrokenError
from command_service.domain.model import evolve
from cqrs_contracts.handlers import CommandDeclaration, parse_command_declaration
from tests.unit.domain.helpers import NOW, ctx

SCHEMA = {
    "type": "object",
    "properties": {"ticket_id": {"type": "string"}, "title": {"type": "string"}},
    "required": ["ticket_id"],
}


def declared(**changes: Any) -> CommandDeclaration:
    raw = {
        "name": "TouchTicket",
        "schema": SCHEMA,
        "stream_type": "ticket",
        "id_field": "ticket_id",
        "event_type": "TicketTouched",
        **changes,
    }
    return parse_command_declaration({k: v for k, v in raw.items() if v is not None})


EMPTY = StreamFacts(None, 0)
EXISTING = StreamFacts("ticket", 3)


def test_the_data_is_copied_into_one_event_of_the_declared_type() -> None:
    decision = decide_declared(declared(), {"ticket_id": "t1", "title": "x"}, EXISTING, ctx())
    assert decision.aggregate_id == "t1"
    [change] = decision.changes
    assert (change.stream_type, change.stream_id) == ("ticket", "t1")
    [event] = change.events
    assert (event.event_type(), event.STREAM_TYPE, event.SCHEMA_VERSION) == (
        "TicketTouched",
        "ticket",
        1,
    )
    assert event.model_dump(mode="json") == {"ticket_id": "t1", "title": "x"}


def test_the_mapping_places_data_the_id_and_the_time() -> None:
    decl = declared(mapping={"id": "$id", "headline": "title", "at": "$now"})
    [change] = decide_declared(decl, {"ticket_id": "t1", "title": "x"}, EMPTY, ctx()).changes
    assert change.events[0].model_dump() == {"id": "t1", "headline": "x", "at": NOW}


def test_a_mapped_field_missing_from_the_data_is_left_out() -> None:
    decl = declared(mapping={"headline": "title"})
    [change] = decide_declared(decl, {"ticket_id": "t1"}, EMPTY, ctx()).changes
    assert change.events[0].model_dump() == {}


def test_a_new_stream_takes_the_generated_id() -> None:
    decl = declared(id_field=None, new_id=True, schema={"type": "object"})
    decision = decide_declared(decl, {}, EMPTY, ctx("generated"))
    assert decision.aggregate_id == "generated"


@pytest.mark.parametrize(
    ("precondition", "found", "error"),
    [
        ("exists", EMPTY, NotFoundError),
        ("not_exists", EXISTING, RuleBrokenError),
        (None, StreamFacts("user", 1), RuleBrokenError),
    ],
)
def test_preconditions(precondition: str | None, found: StreamFacts, error: type) -> None:
    with pytest.raises(error):
        decide_declared(declared(precondition=precondition), {"ticket_id": "t1"}, found, ctx())


@pytest.mark.parametrize("precondition", ["exists", None])
def test_an_existing_stream_may_be_required_or_not(precondition: str | None) -> None:
    decl = declared(precondition=precondition)
    assert decide_declared(decl, {"ticket_id": "t1"}, EXISTING, ctx()).aggregate_id == "t1"


@pytest.mark.parametrize("stream_id", ["", "x" * 65])
def test_a_stream_id_must_fit_the_store(stream_id: str) -> None:
    with pytest.raises(InvalidCommandError):
        decide_declared(declared(), {"ticket_id": stream_id}, EMPTY, ctx())


def test_declared_events_leave_aggregate_state_alone() -> None:
    [change] = decide_declared(declared(), {"ticket_id": "t1"}, EMPTY, ctx()).changes
    assert evolve(None, change.events[0]) is None
