"""Webhook event handlers: what an operator registers, what GET shows of it, and what a
receiver gets.

Their audit trail uses `cqrs_contracts.handlers.HandlerAuditEntry` (kind "event").

A receiver gets each matching event as one POST whose body is the event envelope (JSON,
data at its current schema version) and these headers:

- Standard Webhooks (https://www.standardwebhooks.com/), so any of its verifiers works:
  `webhook-id` (the event id, the same on every attempt), `webhook-timestamp` (send time,
  epoch seconds; refuse old ones to stop replays) and `webhook-signature`:
  `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`, one per active secret of
  the handler, space-separated (several during a rotation). A secret registered as
  `whsec_<base64>` keys the HMAC with the decoded bytes; any other secret with its UTF-8
  bytes, i.e. the verifier's secret is `whsec_` + base64(secret);
- `X-CQRS-Signature: sha256=<hex>`: DEPRECATED, removed in the next release (it has no
  timestamp, so it can be replayed): HMAC-SHA256 of the raw body with the handler's oldest
  active secret;
- `X-CQRS-Event-Id`: the event id (deliveries are at-least-once: dedupe by it);
- `X-CQRS-Event-Type`, `X-CQRS-Handler-Id`, and `X-CQRS-Delivery`: the attempt, from 1.
"""

from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEBHOOK_ID_HEADER: Final = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER: Final = "webhook-signature"
STANDARD_SIGNATURE_VERSION: Final = "v1"
STANDARD_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a format prefix, not a secret
MAX_SECRETS: Final = 10  # active at once per handler
SIGNATURE_HEADER: Final = "X-CQRS-Signature"  # deprecated
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


class SecretAddition(BaseModel):
    """The body of POST /api/v1/cqrs/handlers/events/by-id/{id}/secrets: a secret that
    signs every delivery alongside the active ones until one is retired."""

    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=8, max_length=512)


class SecretView(BaseModel):
    """One active secret as GET shows it: its number (for DELETE .../secrets/{n}), masked."""

    n: int
    secret: str  # masked
    added_at: datetime


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
    secret: str  # masked: the oldest active secret
    secrets: list[SecretView] = Field(default_factory=list)  # every active one, oldest first
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
