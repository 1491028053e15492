"""Upcasters lift stored event payloads from an old schema version to the current one.

Each upcaster turns version N into N+1; `upcast` chains them. Register a new one
whenever an event contract changes shape, and bump that event's SCHEMA_VERSION.
"""

from collections.abc import Callable
from typing import Any

from cqrs_contracts.events import EVENT_TYPES

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
