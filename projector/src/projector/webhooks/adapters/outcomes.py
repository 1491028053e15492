"""What became of webhook deliveries, in the read store: per-handler counters on the
handler's own document (`event_handlers`, shared by every replica) and given-up
deliveries in `webhook_dead_letters`, one per handler and event, each with the event as
delivered (revealed): when its user is forgotten, their personal values in it are
overwritten with the erased placeholder (`forget_user`), as the read models are."""

import logging
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import PERSONAL_FIELDS
from cqrs_contracts.privacy import ERASED, SUBJECT_FIELD
from cqrs_contracts.webhooks import WebhookDeadLetter
from projector.adapters.metrics import WEBHOOKS
from projector.webhooks.adapters.registry import HANDLERS
from projector.webhooks.application.handlers import EventHandler

log = logging.getLogger("projector.webhooks")
DEAD_LETTERS = "webhook_dead_letters"
MAX_ERROR = 2000
PERSONAL = sorted(frozenset().union(*PERSONAL_FIELDS.values()))


class WebhookOutcomes:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def ensure_indexes(self) -> None:
        await self._db[DEAD_LETTERS].create_index([("dead_lettered_at", DESCENDING)])

    async def delivered(self, handler: EventHandler, at: datetime) -> None:
        WEBHOOKS["delivered"].inc()
        await self._count(
            handler, {"$inc": {"stats.delivered": 1}, "$set": {"stats.last_delivered_at": at}}
        )

    async def failed(self, handler: EventHandler, error: str, at: datetime) -> None:
        WEBHOOKS["failed"].inc()
        update = {
            "$inc": {"stats.failed_attempts": 1},
            "$set": {"stats.last_error": error[:MAX_ERROR], "stats.last_failed_at": at},
        }
        await self._count(handler, update)

    async def dead_lettered(
        self, handler: EventHandler, envelope: EventEnvelope, attempts: int, error: str
    ) -> None:
        """Stored once per handler and event, however often the event comes again."""
        WEBHOOKS["dead_lettered"].inc()
        entry = WebhookDeadLetter(
            id=f"{handler.id}:{envelope.event_id}",
            handler_id=handler.id,
            handler_name=handler.name,
            url=handler.url,
            event_id=envelope.event_id,
            event_type=envelope.type,
            stream_id=envelope.stream_id,
            version=envelope.version,
            attempts=attempts,
            last_error=error[:MAX_ERROR],
            dead_lettered_at=datetime.now(UTC),
        )
        doc = {
            "_id": entry.id,
            **entry.model_dump(exclude={"id"}),
            "event": envelope.model_dump(mode="json"),
        }
        await self._db[DEAD_LETTERS].replace_one({"_id": entry.id}, doc, upsert=True)
        await self._count(handler, {"$inc": {"stats.dead_lettered": 1}})

    async def dead_letters(
        self, limit: int, handler_id: str | None = None
    ) -> list[WebhookDeadLetter]:
        """The latest given-up deliveries, newest first."""
        query = {"handler_id": handler_id} if handler_id else {}
        cursor = self._db[DEAD_LETTERS].find(query).sort("dead_lettered_at", DESCENDING)
        return [
            WebhookDeadLetter.model_validate({**doc, "id": doc["_id"]})
            async for doc in cursor.limit(limit)
        ]

    async def dead_letter(self, dead_letter_id: str) -> tuple[str, EventEnvelope] | None:
        """A given-up delivery's handler id and event; None when there is none."""
        doc = await self._db[DEAD_LETTERS].find_one({"_id": dead_letter_id})
        if doc is None:
            return None
        return doc["handler_id"], EventEnvelope.model_validate(doc["event"])

    async def forget(self, dead_letter_id: str) -> None:
        """Remove a dead letter (its delivery succeeded after all)."""
        await self._db[DEAD_LETTERS].delete_one({"_id": dead_letter_id})

    async def redrive_failed(self, dead_letter_id: str, error: str) -> None:
        """A re-drive failed too: the dead letter stays, with this error as its last."""
        update = {"$set": {"last_error": error[:MAX_ERROR]}}
        await self._db[DEAD_LETTERS].update_one({"_id": dead_letter_id}, update)

    async def forget_user(self, user_id: str) -> None:
        """Erase `user_id`'s personal values in every stored delivery of their events."""
        dead_letters = self._db[DEAD_LETTERS]
        for name in PERSONAL:
            field = f"event.data.{name}"
            await dead_letters.update_many(
                {f"event.data.{SUBJECT_FIELD}": user_id, field: {"$type": "string", "$ne": ERASED}},
                {"$set": {field: ERASED}},
            )

    async def _count(self, handler: EventHandler, update: dict[str, Any]) -> None:
        """Counters are best effort: a read-store hiccup never fails a delivery."""
        try:
            await self._db[HANDLERS].update_one({"_id": handler.id}, update)
        except PyMongoError as error:
            log.warning("could not count a delivery of webhook %s: %s", handler.id, error)
