"""Webhook event handlers, the pure part: which handlers an event goes to, the request a
receiver gets (body, signature, headers), and the pause before the next attempt."""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cqrs_contracts import webhooks
from cqrs_contracts.envelopes import EventEnvelope


@dataclass(frozen=True)
class EventHandler:
    """A registered webhook. It gets the events of its types (or every event, for "*")
    that occurred after it was registered."""

    id: str
    event_types: tuple[str, ...]
    url: str
    secret: str
    created_at: datetime
    name: str | None = None
    created_by: str | None = None

    def wants(self, envelope: EventEnvelope) -> bool:
        if webhooks.ALL_EVENTS not in self.event_types and envelope.type not in self.event_types:
            return False
        return aware(envelope.occurred_at) >= aware(self.created_at)


def aware(moment: datetime) -> datetime:
    """`moment` with a zone: a naive time is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def select(handlers: Iterable[EventHandler], envelope: EventEnvelope) -> list[EventHandler]:
    """The handlers `envelope` goes to, in a stable order."""
    return sorted((h for h in handlers if h.wants(envelope)), key=lambda h: h.id)


def body_of(envelope: EventEnvelope) -> bytes:
    """What every handler of `envelope` receives: the envelope as JSON, the same bytes on
    every attempt."""
    return envelope.model_dump_json().encode()


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the HMAC-SHA256 of `body`, in hex."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{webhooks.SIGNATURE_SCHEME}={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Whether `signature` (the header's value) signs `body`, compared in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def request_headers(
    handler: EventHandler, envelope: EventEnvelope, body: bytes, attempt: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        webhooks.SIGNATURE_HEADER: sign(handler.secret, body),
        webhooks.EVENT_ID_HEADER: envelope.event_id,
        webhooks.EVENT_TYPE_HEADER: envelope.type,
        webhooks.HANDLER_ID_HEADER: handler.id,
        webhooks.DELIVERY_HEADER: str(attempt),
    }


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt `attempt` (from 1): base, 2 base, 4 base, ...
    never more than `cap`."""
    return float(min(cap, base * 2 ** min(attempt - 1, 62)))


def mask(secret: str) -> str:
    """What GET shows of a secret: never the secret, at most its last four characters."""
    return "****" + secret[-4:] if len(secret) >= 16 else "****"
