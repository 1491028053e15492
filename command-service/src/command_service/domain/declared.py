"""Decide for a declared command: check its precondition on the stream, then emit the
declared event with the data mapped into it. Pure, like the built-in decisions."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ConfigDict

from command_service.domain.decisions import Context, Decision, StreamChange
from command_service.domain.errors import InvalidCommandError, NotFoundError, RuleBrokenError
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import EventData
from cqrs_contracts.handlers import ID_SOURCE, NOW_SOURCE, CommandDeclaration

MAX_STREAM_ID = 64


class DeclaredEvent(EventData):
    """An event of a declared type: its fields are whatever the declaration maps."""

    model_config = ConfigDict(extra="allow", frozen=True)


@cache
def declared_event_class(event_type: str, stream_type: str) -> type[DeclaredEvent]:
    """The event class named `event_type` (its type name) for streams of `stream_type`."""
    return type(event_type, (DeclaredEvent,), {"STREAM_TYPE": stream_type, "__module__": __name__})


@dataclass(frozen=True)
class StreamFacts:
    """What the store holds under a stream id: its type (None if empty) and version."""

    stream_type: str | None
    version: int


def stream_id_of(decl: CommandDeclaration, data: dict[str, Any], ctx: Context) -> str:
    if decl.id_field is None:
        return ctx.new_id
    value = data.get(decl.id_field)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_STREAM_ID:
        raise InvalidCommandError(
            ErrorCode.VALIDATION_FAILED,
            "invalid command",
            fields=[{"field": decl.id_field, "message": f"1 to {MAX_STREAM_ID} characters"}],
        )
    return value


def _check(decl: CommandDeclaration, stream_id: str, found: StreamFacts) -> None:
    if found.stream_type is not None and found.stream_type != decl.stream_type:
        message = f"{stream_id} is a {found.stream_type} stream, not a {decl.stream_type} one"
        raise RuleBrokenError(ErrorCode.CONFLICT, message, id=stream_id)
    if decl.precondition == "exists" and found.version == 0:
        raise NotFoundError(decl.stream_type, stream_id)
    if decl.precondition == "not_exists" and found.version > 0:
        message = f"{decl.stream_type} {stream_id} already exists"
        raise RuleBrokenError(ErrorCode.CONFLICT, message, id=stream_id)


def event_data(
    decl: CommandDeclaration, data: dict[str, Any], stream_id: str, ctx: Context
) -> dict[str, Any]:
    """The event's fields: the data as it is, or as the mapping places it."""
    if decl.mapping is None:
        return dict(data)
    sources: dict[str, Any] = {**data, ID_SOURCE: stream_id, NOW_SOURCE: ctx.now}
    return {field: sources[source] for field, source in decl.mapping.items() if source in sources}


def decide_declared(
    decl: CommandDeclaration, data: dict[str, Any], found: StreamFacts, ctx: Context
) -> Decision:
    """One event of the declared type, appended to the stream after its precondition."""
    stream_id = stream_id_of(decl, data, ctx)
    _check(decl, stream_id, found)
    cls = declared_event_class(decl.event_type, decl.stream_type)
    event = cls.model_validate(event_data(decl, data, stream_id, ctx))
    return Decision(stream_id, (StreamChange(decl.stream_type, stream_id, (event,)),))
