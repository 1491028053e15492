"""The pure part of webhook handlers: matching, the request a receiver gets, backoff,
masking, and the registration contract."""

import dataclasses
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.webhooks import EventHandlerRegistration
from projector.webhooks.application.handlers import (
    backoff,
    body_of,
    mask,
    request_headers,
    select,
    sign,
    standard_secret,
    verify,
)
from tests.unit.webhooks.helpers import T0, envelope, handler


def test_a_handler_gets_its_types_and_star_gets_every_type() -> None:
    users, orders, every = (
        handler("UserCreated", "UserUpdated"),
        handler("OrderCreated"),
        handler("*"),
    )
    handlers = [users, orders, every]

    assert set(select(handlers, envelope("UserCreated"))) == {users, every}
    assert set(select(handlers, envelope("UserUpdated"))) == {users, every}
    assert set(select(handlers, envelope("OrderCreated"))) == {orders, every}
    assert select(handlers, envelope("SomethingDeclaredLater")) == [every]


def test_a_handler_gets_only_events_that_occurred_after_its_registration() -> None:
    later = handler("UserCreated", since=T0 + timedelta(seconds=5))

    assert select([later], envelope(at=T0)) == []
    assert select([later], envelope(at=T0 + timedelta(seconds=5))) == [later]
    naive = envelope(at=(T0 + timedelta(seconds=6)).replace(tzinfo=None))
    assert select([later], naive) == [later]  # a naive time is UTC


def test_the_signature_is_hmac_sha256_of_the_raw_body_with_the_secret() -> None:
    body = b'{"event_id": "e1"}'
    expected = hmac.new(b"top-secret", body, hashlib.sha256).hexdigest()

    assert sign("top-secret", body) == f"sha256={expected}"
    assert verify("top-secret", body, f"sha256={expected}")
    assert not verify("other-secret", body, f"sha256={expected}")
    assert not verify("top-secret", body + b" ", f"sha256={expected}")


def test_the_request_carries_the_envelope_signature_event_id_and_attempt() -> None:
    event, target = envelope(), handler("*")
    body = body_of(event)
    headers = request_headers(target, event, body, attempt=3, now=time.time())

    assert json.loads(body)["event_id"] == event.event_id
    assert EventEnvelope.model_validate_json(body) == event
    assert headers["X-CQRS-Signature"] == sign(target.secrets[0], body)  # deprecated
    assert headers["webhook-id"] == event.event_id
    assert headers["X-CQRS-Event-Id"] == event.event_id
    assert headers["X-CQRS-Event-Type"] == "UserCreated"
    assert headers["X-CQRS-Handler-Id"] == target.id
    assert headers["X-CQRS-Delivery"] == "3"
    assert headers["Content-Type"] == "application/json"


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """Whether the standardwebhooks package's verifier accepts the delivery."""
    try:
        Webhook(standard_secret(secret)).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_a_standard_webhooks_verifier_accepts_a_delivery_and_refuses_an_old_or_altered_one() -> (
    None
):
    event, target = envelope(), handler("*")
    body = body_of(event)
    now = time.time()
    fresh = request_headers(target, event, body, attempt=1, now=now)

    assert fresh["webhook-id"] == event.event_id
    assert fresh["webhook-timestamp"] == str(int(now))
    assert verifies(target.secrets[0], body, fresh)
    assert not verifies("another-secret-0000", body, fresh)
    assert not verifies(target.secrets[0], body + b" ", fresh)
    # a captured delivery replayed later: its timestamp is too old
    replayed = request_headers(target, event, body, attempt=1, now=now - 600)
    assert not verifies(target.secrets[0], body, replayed)
    # the timestamp is signed: a replay with a fresh timestamp does not verify either
    assert not verifies(target.secrets[0], body, {**replayed, "webhook-timestamp": str(int(now))})
    # every attempt has the same webhook-id, so a receiver dedupes retries by it
    retry = request_headers(target, event, body, attempt=2, now=now + 1)
    assert retry["webhook-id"] == fresh["webhook-id"]


def test_during_a_rotation_each_active_secret_signs_and_a_retired_one_does_not() -> None:
    event, old = envelope(), handler("*")
    body = body_of(event)
    rotating = dataclasses.replace(old, secrets=(*old.secrets, "the-new-secret-0002"))
    both = request_headers(rotating, event, body, attempt=1, now=time.time())

    assert len(both["webhook-signature"].split(" ")) == 2
    assert verifies(old.secrets[0], body, both)
    assert verifies("the-new-secret-0002", body, both)
    retired = dataclasses.replace(old, secrets=("the-new-secret-0002",))
    after = request_headers(retired, event, body, attempt=1, now=time.time())
    assert verifies("the-new-secret-0002", body, after)
    assert not verifies(old.secrets[0], body, after)


def test_a_whsec_secret_keys_the_hmac_with_its_decoded_bytes() -> None:
    event, target = envelope(), handler("*")
    standard = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signed = dataclasses.replace(target, secrets=(standard,))
    body = body_of(event)
    headers = request_headers(signed, event, body, attempt=1, now=time.time())

    assert standard_secret(standard) == standard
    Webhook(standard).verify(body, headers, json_parse=False)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff(a, 0.5, 5.0) for a in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff(10_000, 0.5, 30.0) == 30.0


def test_a_secret_is_never_shown_whole() -> None:
    assert mask("a-long-secret-value-1234") == "****1234"
    assert mask("short-secret") == "****"


def test_a_registration_needs_types_an_http_url_and_a_secret() -> None:
    ok = EventHandlerRegistration.model_validate(
        {"event_types": ["A", "A", "B"], "url": "https://example.com/h", "secret": "12345678"}
    )
    assert ok.event_types == ["A", "B"]
    bad = [
        {"event_types": [], "url": "https://example.com/h", "secret": "12345678"},
        {"event_types": ["A"], "url": "ftp://example.com/h", "secret": "12345678"},
        {"event_types": ["A"], "url": "http:///no-host", "secret": "12345678"},
        {"event_types": ["A"], "url": "https://example.com/h", "secret": "short"},
        {"event_types": [""], "url": "https://example.com/h", "secret": "12345678"},
        {"event_types": ["A"], "url": "https://example.com/h", "secret": "12345678", "x": 1},
    ]
    for body in bad:
        with pytest.raises(ValidationError):
            EventHandlerRegistration.model_validate(body)
