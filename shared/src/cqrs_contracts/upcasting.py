"""Upcasters lift stored event payloads from an old schema version to the current one.

Each upcaster turns version N into N+1; `upcast` chains them. Register a new one
whenever an event contract changes shape, and bump that event's SCHEMA_VERSION.
"""

from collections.abc import Callable
from typing import Any

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import EVENT_TYPES, EventData

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function lifting `event_type` from `from_version` to the next."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


class UnknownSchemaVersionError(ValueError):
    """A payload whose version cannot be lifted to the current one."""


def upcast(event_type: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
    """The payload lifted to the current schema version of its type."""
    current = EVENT_TYPES[event_type].SCHEMA_VERSION
    if schema_version > current:
        raise UnknownSchemaVersionError(
            f"{event_type} schema v{schema_version} is newer than this code (v{current})"
        )
    while schema_version < current:
        step = _UPCASTERS.get((event_type, schema_version))
        if step is None:
            raise UnknownSchemaVersionError(
                f"no upcaster for {event_type} v{schema_version} -> v{schema_version + 1}"
            )
        data = step(dict(data))
        schema_version += 1
    return schema_version, data


@upcaster("UserCreated", from_version=1)
def _user_created_v1_to_v2(data: Payload) -> Payload:
    data.setdefault("age", None)
    return data


def upcast_envelope(envelope: EventEnvelope) -> EventEnvelope:
    """The envelope with its data lifted to the current schema version of its type."""
    if envelope.type not in EVENT_TYPES:
        return envelope
    version, data = upcast(envelope.type, envelope.schema_version, envelope.data)
    return envelope.model_copy(update={"schema_version": version, "data": data})


def decode_event(envelope: EventEnvelope) -> EventData | None:
    """The typed event at its current version, or None for a type this code does not know."""
    cls = EVENT_TYPES.get(envelope.type)
    if cls is None:
        return None
    return cls.model_validate(upcast_envelope(envelope).data)
