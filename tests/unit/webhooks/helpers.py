"""Envelopes and handlers for the webhook unit tests, and fakes of the delivery's ports."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cqrs_contracts.envelopes import EventEnvelope
from projector.webhooks.application.delivery import DeliveryFailedError
from projector.webhooks.application.handlers import EventHandler, select

T0 = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)


def envelope(type_: str = "UserCreated", at: datetime = T0, version: int = 1) -> EventEnvelope:
    stream = str(uuid.uuid4())
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        position=7,
        stream_type="user",
        stream_id=stream,
        version=version,
        type=type_,
        schema_version=2,
        data={"user_id": stream, "name": "Ada"},
        occurred_at=at,
    )


def handler(
    *types: str, url: str = "http://127.0.0.1:9/hook", since: datetime = T0 - timedelta(seconds=1)
) -> EventHandler:
    return EventHandler(
        id=uuid.uuid4().hex,
        event_types=types,
        url=url,
        secrets=("s3cret-s3cret-s3cret",),
        created_at=since,
    )


@dataclass
class FakeHandlers:
    handlers: dict[str, EventHandler]

    async def matching(self, event: EventEnvelope) -> list[EventHandler]:
        return select(self.handlers.values(), event)

    def is_registered(self, handler_id: str) -> bool:
        return handler_id in self.handlers


@dataclass
class FakeReceivers:
    """Per URL, the answer to each request in turn: an error, or None for a 2xx; past
    the end of its script a URL answers 2xx."""

    script: dict[str, list[str | None]] = field(default_factory=dict)
    requests: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    on_request: Callable[[], None] = lambda: None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.requests.append((url, body, headers))
        self.on_request()
        answers = self.script.get(url, [])
        error = answers.pop(0) if answers else None
        if error:
            raise DeliveryFailedError(error)


@dataclass
class FakeOutcomes:
    delivered_to: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    dead: list[tuple[str, str, int, str]] = field(default_factory=list)
    broken: bool = False

    async def delivered(self, target: EventHandler, at: datetime) -> None:
        self.delivered_to.append(target.id)

    async def failed(self, target: EventHandler, error: str, at: datetime) -> None:
        self.failures.append((target.id, error))

    async def dead_lettered(
        self, target: EventHandler, event: EventEnvelope, attempts: int, error: str
    ) -> None:
        if self.broken:
            raise ConnectionError("read store down")
        self.dead.append((target.id, event.event_id, attempts, error))
