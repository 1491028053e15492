"""Delivering one event to its webhook handlers: each handler gets it with retries and
exponential backoff; after the last attempt the delivery is dead-lettered with its last
error. Handlers of one event are served at once; the next event waits for all of them,
which keeps each handler's events in order per partition (per aggregate)."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cqrs_contracts.envelopes import EventEnvelope
from projector.webhooks.application.handlers import EventHandler, backoff, body_of, request_headers

log = logging.getLogger("projector.webhooks")


class DeliveryFailedError(Exception):
    """The receiver did not answer 2xx (or could not be reached); the message says why."""


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST `body`; raises DeliveryFailedError unless the receiver answered 2xx."""


class Handlers(Protocol):
    async def matching(self, envelope: EventEnvelope) -> list[EventHandler]:
        """The registered handlers `envelope` goes to."""

    def is_registered(self, handler_id: str) -> bool: ...


class DeliveryLog(Protocol):
    async def delivered(self, handler: EventHandler, at: datetime) -> None: ...

    async def failed(self, handler: EventHandler, error: str, at: datetime) -> None: ...

    async def dead_lettered(
        self, handler: EventHandler, envelope: EventEnvelope, attempts: int, error: str
    ) -> None:
        """Store the given-up delivery; raises when it could not be stored."""


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: delivered at attempt `attempts`, or not (dead-lettered
    after `attempts`, or its handler was unregistered meanwhile) with the last error."""

    delivered: bool
    attempts: int
    error: str | None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay: float
    max_delay: float


class WebhookDelivery:
    def __init__(
        self,
        handlers: Handlers,
        sender: Sender,
        outcomes: DeliveryLog,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._handlers = handlers
        self._sender = sender
        self._outcomes = outcomes
        self._policy = policy
        self._sleep = sleep
        self._clock = clock

    async def deliver(
        self,
        envelope: EventEnvelope,
        reveal: Callable[[EventEnvelope], Awaitable[EventEnvelope]] | None = None,
    ) -> int:
        """Deliver `envelope` to every handler that wants it (or dead-letter it); how many
        handlers there were. Raises only when a dead letter could not be stored. Handlers
        are matched by type and time alone, so `reveal` (the personal fields opened) runs
        only for an event some handler wants: the others cost no key lookup."""
        handlers = await self._handlers.matching(envelope)
        if not handlers:
            return 0
        if reveal is not None:
            envelope = await reveal(envelope)
        body = body_of(envelope)
        results = await asyncio.gather(
            *(self._deliver_one(h, envelope, body) for h in handlers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(handlers)

    async def redeliver(self, handler: EventHandler, envelope: EventEnvelope) -> Outcome:
        """Send a dead-lettered `envelope` to `handler` once more, as attempt 1: one
        attempt (bounded by the sender's timeout), so an operator's request answers
        within its own time limit; the caller keeps or removes the dead letter."""
        body = body_of(envelope)
        headers = request_headers(handler, envelope, body, 1, self._clock())
        try:
            await self._sender.post(handler.url, body, headers)
        except DeliveryFailedError as failure:
            await self._outcomes.failed(handler, str(failure), datetime.now(UTC))
            return Outcome(delivered=False, attempts=1, error=str(failure))
        await self._outcomes.delivered(handler, datetime.now(UTC))
        return Outcome(delivered=True, attempts=1, error=None)

    async def _deliver_one(
        self, handler: EventHandler, envelope: EventEnvelope, body: bytes
    ) -> Outcome:
        error = ""
        for attempt in range(1, self._policy.max_attempts + 1):
            if attempt > 1 and not self._handlers.is_registered(handler.id):
                # unregistered while its retries were under way
                return Outcome(delivered=False, attempts=attempt - 1, error=error)
            headers = request_headers(handler, envelope, body, attempt, self._clock())
            try:
                await self._sender.post(handler.url, body, headers)
            except DeliveryFailedError as failure:
                error = str(failure)
                await self._outcomes.failed(handler, error, datetime.now(UTC))
            else:
                await self._outcomes.delivered(handler, datetime.now(UTC))
                return Outcome(delivered=True, attempts=attempt, error=None)
            if attempt < self._policy.max_attempts:
                policy = self._policy
                await self._sleep(backoff(attempt, policy.base_delay, policy.max_delay))
        log.warning(
            "webhook %s gave up on event %s after %d attempts: %s",
            handler.id,
            envelope.event_id,
            self._policy.max_attempts,
            error,
        )
        await self._outcomes.dead_lettered(handler, envelope, self._policy.max_attempts, error)
        return Outcome(delivered=False, attempts=self._policy.max_attempts, error=error)
