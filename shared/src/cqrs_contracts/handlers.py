"""Handlers registered at run time, as data: declared commands (command-service) and
declared queries (query-service), their listing and their audit trail.

A declaration is checked strictly before it is stored (`parse_command_declaration`,
`parse_query_declaration`): names, the JSON Schema of a command's data, and the read-model
fields a query may filter, sort and return. No code ever travels in a declaration."""

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cqrs_contracts.commands import COMMAND_TYPES
from cqrs_contracts.errors import FieldError
from cqrs_contracts.events import EVENT_TYPES
from cqrs_contracts.queries import MAX_LIMIT, QUERY_TYPES
from cqrs_contracts.read_models import READ_MODELS, ReadModel

TYPE_NAME = r"^[A-Z][A-Za-z0-9]{1,99}$"  # CreateTicket, TicketOpened, ListOpenTickets
STREAM_TYPE = r"^[a-z][a-z0-9_]{1,49}$"  # ticket
FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_SCHEMA_BYTES = 64 * 1024
# Streams the built-in aggregates own: a foreign event in one would leave a version gap
# in their read models, so declared commands write streams of their own.
BUILT_IN_STREAM_TYPES = frozenset(cls.STREAM_TYPE for cls in EVENT_TYPES.values())
# Where a mapped event field may take its value from, besides a data field.
ID_SOURCE, NOW_SOURCE = "$id", "$now"
PAGING = ("limit", "cursor", "sort", "order")


class InvalidDeclarationError(ValueError):
    """A declaration that may not be stored; `fields` names each problem."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("invalid declaration")
        self.fields = fields


class Declaration(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=TYPE_NAME)
    description: str | None = Field(default=None, max_length=500)


class CommandDeclaration(Declaration):
    """A command type: data checked by `schema`, one event appended to one stream."""

    data_schema: dict[str, Any] = Field(alias="schema")
    stream_type: str = Field(pattern=STREAM_TYPE)
    id_field: str | None = Field(default=None, pattern=FIELD_NAME)  # names the stream's id
    new_id: bool = False  # a new stream with a generated id instead
    event_type: str = Field(pattern=TYPE_NAME)
    # event field -> data field, "$id" or "$now"; None copies the data as it is
    mapping: dict[str, str] | None = None
    precondition: Literal["exists", "not_exists"] | None = None


FieldKind = Literal["string", "integer", "decimal", "datetime", "boolean"]
Operator = Literal["eq", "ne", "in", "gt", "gte", "lt", "lte", "prefix", "contains"]
OPERATORS: dict[str, frozenset[str]] = {
    "string": frozenset({"eq", "ne", "in", "gt", "gte", "lt", "lte", "prefix", "contains"}),
    "integer": frozenset({"eq", "ne", "in", "gt", "gte", "lt", "lte"}),
    "decimal": frozenset({"eq", "ne", "in", "gt", "gte", "lt", "lte"}),
    "datetime": frozenset({"eq", "ne", "gt", "gte", "lt", "lte"}),
    "boolean": frozenset({"eq", "ne"}),
}


def _equality_only() -> list[Operator]:
    return ["eq"]


class FilterDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: FieldKind | None = None  # must match the read model's field; inferred if left out
    operators: list[Operator] = Field(default_factory=_equality_only, min_length=1)


class QueryDeclaration(Declaration):
    """A list query over one read model: what may be filtered, sorted and returned."""

    read_model: str
    filters: dict[str, FilterDeclaration] = Field(default_factory=dict)
    sortable: list[str] = Field(default_factory=list)  # the first is the default sort
    projection: list[str] = Field(min_length=1)  # the fields returned ("id" always is)
    default_limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    max_limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)


class HandlerAction(StrEnum):
    REGISTER = "register"
    REPLACE = "replace"
    UNREGISTER = "unregister"
    DISABLE = "disable"
    ENABLE = "enable"


class HandlerInfo(BaseModel):
    """One entry of GET /handlers/commands or /handlers/queries."""

    name: str
    built_in: bool
    enabled: bool
    declaration: dict[str, Any] | None = None  # None for a built-in one
    updated_at: datetime | None = None


class HandlerAuditEntry(BaseModel):
    """Who changed which handler, how, and when."""

    kind: str  # command | query | event (webhook, named by its id)
    name: str
    action: HandlerAction
    actor: str | None
    at: datetime
    declaration: dict[str, Any] | None = None


def _errors(invalid: ValidationError) -> list[FieldError]:
    return [
        FieldError(field=".".join(map(str, e["loc"])) or "body", message=e["msg"], rule=e["type"])
        for e in invalid.errors()
    ]


def _problem(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message, rule="declaration")


def _local_refs_only(node: Any) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
            return False
        return all(_local_refs_only(v) for v in node.values())
    if isinstance(node, list):
        return all(_local_refs_only(v) for v in node)
    return True


def _schema_problems(schema: dict[str, Any]) -> list[FieldError]:
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        return [_problem("schema", f"must be at most {MAX_SCHEMA_BYTES} bytes")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as bad:
        return [_problem("schema", f"not a valid JSON Schema: {bad.message}")]
    if schema.get("type") != "object":
        return [_problem("schema", 'the data must be an object: "type": "object"')]
    if not _local_refs_only(schema):
        return [_problem("schema", "only local $ref (#/...) are allowed")]
    return []


def _id_problems(decl: CommandDeclaration, properties: dict[str, Any]) -> list[FieldError]:
    if decl.new_id == (decl.id_field is not None):
        return [_problem("id_field", "give id_field (an existing stream) or new_id: true")]
    if decl.new_id and decl.precondition == "exists":
        return [_problem("precondition", "a new stream cannot already exist")]
    field = decl.id_field
    if field is None:
        return []
    if properties.get(field, {}).get("type") != "string":
        return [_problem("id_field", f'schema.properties.{field} must be {{"type": "string"}}')]
    if field not in decl.data_schema.get("required", []):
        return [_problem("id_field", f"schema.required must list {field}")]
    return []


def _mapping_problems(decl: CommandDeclaration, properties: dict[str, Any]) -> list[FieldError]:
    problems = []
    for target, source in (decl.mapping or {}).items():
        if not re.fullmatch(FIELD_NAME, target):
            problems.append(_problem(f"mapping.{target}", "not a valid field name"))
        elif source not in (ID_SOURCE, NOW_SOURCE) and source not in properties:
            problems.append(
                _problem(f"mapping.{target}", f"{source!r} is not in schema.properties")
            )
    return problems


def _command_problems(decl: CommandDeclaration) -> list[FieldError]:
    problems = _schema_problems(decl.data_schema)
    if decl.name in COMMAND_TYPES:
        message = f"{decl.name} is built in; re-enable it with POST .../{decl.name}/enable"
        problems.append(_problem("name", message))
    if decl.event_type in EVENT_TYPES:
        problems.append(_problem("event_type", f"{decl.event_type} is a built-in event"))
    if decl.stream_type in BUILT_IN_STREAM_TYPES:
        message = f"{decl.stream_type} streams belong to a built-in aggregate"
        problems.append(_problem("stream_type", message))
    if problems:
        return problems
    properties = decl.data_schema.get("properties", {})
    return _id_problems(decl, properties) + _mapping_problems(decl, properties)


def parse_command_declaration(raw: Any) -> CommandDeclaration:
    """The declaration, or InvalidDeclarationError naming every problem."""
    try:
        decl = CommandDeclaration.model_validate(raw)
    except ValidationError as invalid:
        raise InvalidDeclarationError(_errors(invalid)) from invalid
    problems = _command_problems(decl)
    if problems:
        raise InvalidDeclarationError(problems)
    return decl


def _error_fields(error: Any) -> list[str]:
    """The data fields one JSON Schema error is about (the missing or unexpected ones)."""
    path = ".".join(map(str, error.absolute_path))
    prefix = f"{path}." if path else ""
    if error.validator == "required" and isinstance(error.instance, dict):
        return [prefix + n for n in error.validator_value if n not in error.instance]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        return [prefix + n for n in error.instance if n not in known] or [path or "data"]
    return [path or "data"]


def data_checker(decl: CommandDeclaration) -> Callable[[dict[str, Any]], list[FieldError]]:
    """A check of command data against the declaration's schema: one error per field."""
    validator = Draft202012Validator(decl.data_schema, format_checker=FormatChecker())

    def check(data: dict[str, Any]) -> list[FieldError]:
        found: dict[str, FieldError] = {}
        for error in validator.iter_errors(data):
            for name in _error_fields(error):
                rule = str(error.validator)
                found.setdefault(name, FieldError(field=name, message=error.message, rule=rule))
        return sorted(found.values(), key=lambda e: e.field)

    return check


def _kind(annotation: Any) -> str | None:
    if get_origin(annotation) in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not NoneType]
        return _kind(rest[0]) if len(rest) == 1 else None
    kinds: dict[Any, str] = {
        str: "string",
        int: "integer",
        Decimal: "decimal",
        datetime: "datetime",
        bool: "boolean",
    }
    return kinds.get(annotation)


def field_kinds(model: type[ReadModel]) -> dict[str, str | None]:
    """Each top-level field of a read model and its scalar kind (None: not a scalar)."""
    return {name: _kind(info.annotation) for name, info in model.model_fields.items()}


def _filter_problems(decl: QueryDeclaration, kinds: dict[str, str | None]) -> list[FieldError]:
    problems = []
    for name, spec in decl.filters.items():
        where, kind = f"filters.{name}", kinds.get(name)
        if name in PAGING or name not in kinds:
            problems.append(_problem(where, f"{decl.read_model} has no field {name}"))
        elif kind is None:
            problems.append(_problem(where, f"{name} is not a scalar field"))
        elif spec.type is not None and spec.type != kind:
            problems.append(_problem(f"{where}.type", f"{name} is a {kind} field"))
        elif bad := sorted(set(spec.operators) - OPERATORS[kind]):
            problems.append(_problem(f"{where}.operators", f"not for a {kind}: {bad}"))
    return problems


def _query_problems(decl: QueryDeclaration) -> list[FieldError]:
    if decl.name in QUERY_TYPES:
        message = f"{decl.name} is built in; re-enable it with POST .../{decl.name}/enable"
        return [_problem("name", message)]
    model = READ_MODELS.get(decl.read_model)
    if model is None:
        return [_problem("read_model", f"one of {sorted(READ_MODELS)}")]
    kinds = field_kinds(model)
    problems = _filter_problems(decl, kinds)
    for i, name in enumerate(decl.sortable):
        if kinds.get(name) is None:
            problems.append(_problem(f"sortable.{i}", f"{name} is not a scalar field"))
    for i, name in enumerate(decl.projection):
        if name not in kinds:
            problems.append(_problem(f"projection.{i}", f"{decl.read_model} has no field {name}"))
    if decl.default_limit > decl.max_limit:
        problems.append(_problem("default_limit", "must not exceed max_limit"))
    return problems


def parse_query_declaration(raw: Any) -> QueryDeclaration:
    """The declaration, or InvalidDeclarationError naming every problem."""
    try:
        decl = QueryDeclaration.model_validate(raw)
    except ValidationError as invalid:
        raise InvalidDeclarationError(_errors(invalid)) from invalid
    problems = _query_problems(decl)
    if problems:
        raise InvalidDeclarationError(problems)
    return decl
