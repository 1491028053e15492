"""Webhook event handlers, the pure part: which handlers an event goes to, the request a
receiver gets (body, signatures, headers), and the pause before the next attempt.

Signatures follow the Standard Webhooks specification: `webhook-signature` carries
`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` once per active
secret, space-separated. The HMAC key of a secret written `whsec_<base64>` is the decoded
bytes (the specification's format); of any other secret, its UTF-8 bytes, which a
receiver's verifier takes as `whsec_` + base64(secret)."""

import base64
import binascii
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
    secrets: tuple[str, ...]  # the active ones, oldest first; at least one
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


def key_of(secret: str) -> bytes:
    """The HMAC key of a secret: the decoded bytes of `whsec_<base64>`, else its UTF-8."""
    if secret.startswith(webhooks.STANDARD_SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(webhooks.STANDARD_SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode()


def standard_secret(secret: str) -> str:
    """`secret` as a Standard Webhooks verifier takes it (`whsec_<base64 of the key>`)."""
    return webhooks.STANDARD_SECRET_PREFIX + base64.b64encode(key_of(secret)).decode()


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the Standard Webhooks specification."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return f"{webhooks.STANDARD_SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def sign(secret: str, body: bytes) -> str:
    """The deprecated `X-CQRS-Signature` header's value: `sha256=` and the HMAC-SHA256 of
    `body` (no timestamp, so it can be replayed), in hex, keyed by the secret's UTF-8."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{webhooks.SIGNATURE_SCHEME}={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Whether `signature` (the header's value) signs `body`, compared in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def request_headers(
    handler: EventHandler, envelope: EventEnvelope, body: bytes, attempt: int, now: float
) -> dict[str, str]:
    """The headers of one attempt sent at `now` (epoch seconds): the webhook id is the event
    id (the same on every attempt, so receivers dedupe), the timestamp the send time."""
    timestamp = int(now)
    signatures = " ".join(
        sign_standard(s, envelope.event_id, timestamp, body) for s in handler.secrets
    )
    return {
        "Content-Type": "application/json",
        webhooks.WEBHOOK_ID_HEADER: envelope.event_id,
        webhooks.WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        webhooks.WEBHOOK_SIGNATURE_HEADER: signatures,
        # deprecated, for one release: signed with the oldest active secret
        webhooks.SIGNATURE_HEADER: sign(handler.secrets[0], body),
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
