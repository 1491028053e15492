"""Declared commands and queries are checked strictly before they are stored: names,
JSON Schemas, ids, mappings, read-model fields, operators and limits."""

from typing import Any

import pytest

from cqrs_contracts.handlers import (
    InvalidDeclarationError,
    data_checker,
    field_kinds,
    parse_command_declaration,
    parse_query_declaration,
)
from cqrs_contracts.read_models import OrderReadModel

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ticket_id": {"type": "string", "minLength": 1},
        "title": {"type": "string", "minLength": 3, "maxLength": 80},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["ticket_id", "title"],
    "additionalProperties": False,
}
COMMAND: dict[str, Any] = {
    "name": "OpenTicket",
    "schema": SCHEMA,
    "stream_type": "ticket",
    "id_field": "ticket_id",
    "event_type": "TicketOpened",
    "mapping": {"ticket_id": "$id", "title": "title", "opened_at": "$now"},
    "precondition": "not_exists",
}
QUERY: dict[str, Any] = {
    "name": "OrdersByStatus",
    "read_model": "OrderReadModel",
    "filters": {"status": {"operators": ["eq", "in"]}, "amount": {"type": "decimal"}},
    "sortable": ["created_at", "amount"],
    "projection": ["id", "status", "amount"],
    "default_limit": 10,
    "max_limit": 50,
}


def command_problems(**changes: Any) -> dict[str, str]:
    """{field: message} of the declaration COMMAND with `changes` (None removes a key)."""
    raw = {k: v for k, v in {**COMMAND, **changes}.items() if v is not None}
    with pytest.raises(InvalidDeclarationError) as refused:
        parse_command_declaration(raw)
    return {f.field: f.message for f in refused.value.fields}


def query_problems(**changes: Any) -> dict[str, str]:
    raw = {k: v for k, v in {**QUERY, **changes}.items() if v is not None}
    with pytest.raises(InvalidDeclarationError) as refused:
        parse_query_declaration(raw)
    return {f.field: f.message for f in refused.value.fields}


def test_a_valid_command_declaration_keeps_its_schema_under_its_alias() -> None:
    decl = parse_command_declaration(COMMAND)
    assert decl.data_schema == SCHEMA
    assert decl.model_dump(by_alias=True)["schema"] == SCHEMA


def test_a_new_stream_needs_no_id_field() -> None:
    decl = parse_command_declaration({**COMMAND, "id_field": None, "new_id": True} | {})
    assert decl.new_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "open-ticket"}, "name"),
        ({"name": "CreateUser"}, "name"),
        ({"event_type": "UserCreated"}, "event_type"),
        ({"event_type": "ticket opened"}, "event_type"),
        ({"stream_type": "user"}, "stream_type"),
        ({"stream_type": "Ticket"}, "stream_type"),
        ({"schema": {"type": "object", "properties": {"x": {"type": "nonsense"}}}}, "schema"),
        ({"schema": {"type": "array"}}, "schema"),
        ({"schema": {"type": "object", "$ref": "https://example.com/s.json"}}, "schema"),
        ({"id_field": None}, "id_field"),
        ({"new_id": True}, "id_field"),
        ({"id_field": "title2"}, "id_field"),
        ({"id_field": "priority"}, "id_field"),
        ({"mapping": {"title": "missing"}}, "mapping.title"),
        ({"mapping": {"bad-name": "title"}}, "mapping.bad-name"),
        ({"precondition": "maybe"}, "precondition"),
        ({"handler": "import os"}, "handler"),
    ],
)
def test_invalid_command_declarations_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert field in command_problems(**changes)


def test_the_id_field_must_be_required() -> None:
    schema = {**SCHEMA, "required": ["title"]}
    assert "schema.required must list ticket_id" in command_problems(schema=schema)["id_field"]


def test_a_new_stream_cannot_have_to_exist() -> None:
    assert "precondition" in command_problems(id_field=None, new_id=True, precondition="exists")


def test_data_is_checked_field_by_field() -> None:
    check = data_checker(parse_command_declaration(COMMAND))
    assert check({"ticket_id": "t1", "title": "Broken printer", "priority": 2}) == []
    errors = {e.field: e.rule for e in check({"title": "ab", "priority": 9, "x": 1})}
    assert errors == {
        "ticket_id": "required",
        "title": "minLength",
        "priority": "maximum",
        "x": ("additionalProperties"),
    }


def test_a_valid_query_declaration() -> None:
    decl = parse_query_declaration(QUERY)
    assert decl.filters["status"].operators == ["eq", "in"]
    assert decl.filters["amount"].operators == ["eq"]


def test_read_model_fields_have_kinds() -> None:
    kinds = field_kinds(OrderReadModel)
    assert kinds["id"] == "string"
    assert kinds["amount"] == "decimal"
    assert kinds["created_at"] == "datetime"
    assert kinds["versions"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "ListUsers"}, "name"),
        ({"name": "lower"}, "name"),
        ({"read_model": "Nope"}, "read_model"),
        ({"filters": {"password": {}}}, "filters.password"),
        ({"filters": {"versions": {}}}, "filters.versions"),
        ({"filters": {"limit": {}}}, "filters.limit"),
        ({"filters": {"amount": {"type": "string"}}}, "filters.amount.type"),
        ({"filters": {"amount": {"operators": ["prefix"]}}}, "filters.amount.operators"),
        ({"filters": {"status": {"operators": ["$where"]}}}, "filters.status.operators.0"),
        ({"filters": {"status": {"operators": []}}}, "filters.status.operators"),
        ({"sortable": ["versions"]}, "sortable.0"),
        ({"sortable": ["created_at", "nope"]}, "sortable.1"),
        ({"projection": ["id", "secret"]}, "projection.1"),
        ({"projection": []}, "projection"),
        ({"default_limit": 60}, "default_limit"),
        ({"max_limit": 1000}, "max_limit"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_query_declarations_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert field in query_problems(**changes)
