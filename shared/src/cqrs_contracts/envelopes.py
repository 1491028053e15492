"""Envelopes: what wraps a command on the way in, an event on the wire and in the
store, and the answer to a command."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventMetadata(BaseModel):
    """Who and what caused an event; travels with it to every consumer."""

    model_config = ConfigDict(extra="allow")

    command_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    traceparent: str | None = None


class EventEnvelope(BaseModel):
    """A stored event: the unit published on `cqrs-events` and read by projectors."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    position: int | None = None  # global order in the store; None before it is stored
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: EventMetadata = Field(default_factory=EventMetadata)
    occurred_at: datetime


class CommandRequest(BaseModel):
    """The body of POST /api/v1/cqrs/commands; `{type, data}` alone is enough."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, max_length=64)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    expected_version: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)


class CommandResult(BaseModel):
    """The answer to an accepted command."""

    command_id: str
    status: str
    aggregate_id: str
    version: int
    events: list[EventEnvelope]
    consistency_token: str


class AppendEventRequest(BaseModel):
    """The body of POST /api/v1/cqrs/events: an admin append to one stream."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=100)
    data: dict[str, Any]
    stream_id: str | None = Field(default=None, max_length=64)
    expected_version: int | None = Field(default=None, ge=0)
    schema_version: int | None = Field(default=None, ge=1)
    metadata: dict[str, Any] = Field(default_factory=dict)
