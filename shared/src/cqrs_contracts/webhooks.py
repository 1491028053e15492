"""Webhook event handlers: what an operator registers, what GET shows of it, and what a
receiver gets.

Their audit trail uses `cqrs_contracts.handlers.HandlerAuditEntry` (kind "event").

A receiver gets each matching event as one POST whose body is the event envelope (JSON,
data at its current schema version) and these headers:

- `X-CQRS-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body with the handler's secret;
- `X-CQRS-Event-Id`: the event id (deliveries are at-least-once: dedupe by it);
- `X-CQRS-Event-Type`, `X-CQRS-Handler-Id`, and `X-CQRS-Delivery`: the attempt, from 1.
"""

from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

SIGNATURE_HEADER: Final = "X-CQRS-Signature"
SIGNATURE_SCHEME: Final = "sha256"
EVENT_ID_HEADER: Final = "X-CQRS-Event-Id"
EVENT_TYPE_HEADER: Final = "X-CQRS-Event-Type"
HANDLER_ID_HEADER: Final = "X-CQRS-Handler-Id"
DELIVERY_HEADER: Final = "X-CQRS-Delivery"
ALL_EVENTS: Final = "*"


class EventHandlerRegistration(BaseModel):
    """The body of POST /api/v1/cqrs/handlers/events."""

    model_config = ConfigDict(extra="forbid")

    event_types: list[str] = Field(min_length=1, max_length=100)  # or ["*"] for every event
    url: str = Field(max_length=2000)  # http or https; receives a POST per event
    secret: str = Field(min_length=8, max_length=512)  # signs every body (HMAC-SHA256)
    name: str | None = Field(default=None, max_length=100)

    @field_validator("event_types")
    @classmethod
    def _types(cls, types: list[str]) -> list[str]:
        for name in types:
            if not 0 < len(name) <= 100 or name != name.strip():
                raise ValueError(f"not an event type: {name!r}")
        return list(dict.fromkeys(types))

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return url


class EventHandlerStats(BaseModel):
    """Delivery counts of one handler, across every projector replica."""

    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    last_delivered_at: datetime | None = None
    last_failed_at: datetime | None = None


class EventHandlerView(BaseModel):
    """A registered handler as GET lists it: the secret is masked."""

    id: str
    name: str | None
    event_types: list[str]
    url: str
    secret: str  # masked
    created_at: datetime
    created_by: str | None
    stats: EventHandlerStats = Field(default_factory=EventHandlerStats)


class WebhookDeadLetter(BaseModel):
    """A delivery given up after the last attempt, with the last error."""

    id: str
    handler_id: str
    handler_name: str | None
    url: str
    event_id: str
    event_type: str
    stream_id: str
    version: int
    attempts: int
    last_error: str
    dead_lettered_at: datetime
