"""Webhook registrations in the read store (`event_handlers`), every change audited
(`handler_audit`), and the copy each projector replica delivers from.

A replica re-reads the registrations every `refresh_interval`, and at once whenever an
event occurred after its last read, so a handler gets every event that occurred after
its registration, whichever replica registered it."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.handlers import HandlerAction, HandlerAuditEntry
from cqrs_contracts.webhooks import (
    MAX_SECRETS,
    EventHandlerRegistration,
    EventHandlerStats,
    EventHandlerView,
    SecretView,
)
from projector.webhooks.application.handlers import EventHandler, aware, mask, select

log = logging.getLogger("projector.webhooks")
HANDLERS = "event_handlers"
AUDIT = "handler_audit"
KIND = "event"


def _now() -> datetime:
    """Now, to the millisecond the read store keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _secrets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A handler's active secrets, oldest first: `{n, secret, added_at}` each (a document
    written before rotation existed has its one `secret`, number 1)."""
    found: list[dict[str, Any]] | None = doc.get("secrets")
    if found:
        return found
    return [{"n": 1, "secret": doc["secret"], "added_at": doc["created_at"]}]


def _handler(doc: dict[str, Any]) -> EventHandler:
    return EventHandler(
        id=doc["_id"],
        event_types=tuple(doc["event_types"]),
        url=doc["url"],
        secrets=tuple(s["secret"] for s in _secrets(doc)),
        created_at=aware(doc["created_at"]),
        name=doc.get("name"),
        created_by=doc.get("created_by"),
    )


def _declaration(handler: EventHandler) -> dict[str, Any]:
    """What the audit trail keeps of a handler: everything but its secret."""
    return {
        "id": handler.id,
        "name": handler.name,
        "event_types": list(handler.event_types),
        "url": handler.url,
    }


class TooManySecretsError(Exception):
    """A handler already has the most active secrets it may have."""


class WebhookRegistry:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db
        self._current: dict[str, EventHandler] = {}
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        await self._db[HANDLERS].create_index([("event_types", ASCENDING)])
        await self._db[AUDIT].create_index([("kind", ASCENDING), ("at", DESCENDING)])

    async def register(
        self, registration: EventHandlerRegistration, who: str | None
    ) -> EventHandler:
        handler = EventHandler(
            id=uuid.uuid4().hex,
            event_types=tuple(registration.event_types),
            url=registration.url,
            secrets=(registration.secret,),
            created_at=_now(),
            name=registration.name,
            created_by=who,
        )
        doc = {
            "_id": handler.id,
            "name": handler.name,
            "event_types": list(handler.event_types),
            "url": handler.url,
            "secret": registration.secret,  # the oldest active, for older replicas
            "secrets": [{"n": 1, "secret": registration.secret, "added_at": handler.created_at}],
            "next_secret": 2,
            "created_at": handler.created_at,
            "created_by": who,
            "stats": EventHandlerStats().model_dump(),
        }
        await self._db[HANDLERS].insert_one(doc)
        await self._audit(who, HandlerAction.REGISTER, _declaration(handler))
        await self.reload()
        return handler

    async def unregister(self, handler_id: str, who: str | None) -> EventHandler | None:
        """Remove one handler; None when there is none with that id."""
        doc = await self._db[HANDLERS].find_one_and_delete({"_id": handler_id})
        if doc is None:
            return None
        handler = _handler(doc)
        await self._audit(who, HandlerAction.UNREGISTER, _declaration(handler))
        await self.reload()
        return handler

    async def add_secret(self, handler_id: str, secret: str, who: str | None) -> int | None:
        """Make `secret` active too (every delivery is signed with each active secret);
        its number, or None when there is no such handler. Raises TooManySecretsError."""
        doc = await self._db[HANDLERS].find_one({"_id": handler_id})
        if doc is None:
            return None
        active = _secrets(doc)
        if len(active) >= MAX_SECRETS:
            raise TooManySecretsError(f"a handler has at most {MAX_SECRETS} active secrets")
        n = max(int(doc.get("next_secret", 2)), *(int(s["n"]) + 1 for s in active))
        active = [*active, {"n": n, "secret": secret, "added_at": _now()}]
        await self._store_secrets(handler_id, active, n + 1)
        what = {**_declaration(_handler(doc)), "secret_added": n}
        await self._audit(who, HandlerAction.REPLACE, what)
        await self.reload()
        return n

    async def retire_secret(self, handler_id: str, n: int, who: str | None) -> bool | None:
        """Stop signing with secret `n`: True when retired, False when it is the handler's
        last active secret (kept: a handler always signs), None when there is no such
        handler or secret."""
        doc = await self._db[HANDLERS].find_one({"_id": handler_id})
        if doc is None:
            return None
        active = _secrets(doc)
        left = [s for s in active if s["n"] != n]
        if len(left) == len(active):
            return None
        if not left:
            return False
        await self._store_secrets(handler_id, left, int(doc.get("next_secret", n + 1)))
        what = {**_declaration(_handler(doc)), "secret_retired": n}
        await self._audit(who, HandlerAction.REPLACE, what)
        await self.reload()
        return True

    async def _store_secrets(
        self, handler_id: str, active: list[dict[str, Any]], next_secret: int
    ) -> None:
        update = {"secrets": active, "secret": active[0]["secret"], "next_secret": next_secret}
        await self._db[HANDLERS].update_one({"_id": handler_id}, {"$set": update})

    def current(self, handler_id: str) -> EventHandler | None:
        """The registered handler with that id, as this replica last read it."""
        return self._current.get(handler_id)

    async def unsubscribe(self, event_type: str, who: str | None) -> dict[str, list[str]]:
        """Take `event_type` off every handler: a handler left with no type is removed,
        the others keep their other types. The ids of both kinds."""
        removed: list[str] = []
        narrowed: list[str] = []
        async for doc in self._db[HANDLERS].find({"event_types": event_type}):
            handler = _handler(doc)
            left = [t for t in handler.event_types if t != event_type]
            if left:
                await self._db[HANDLERS].update_one(
                    {"_id": handler.id}, {"$set": {"event_types": left}}
                )
                what = {**_declaration(handler), "event_types": left}
                await self._audit(who, HandlerAction.REPLACE, what)
                narrowed.append(handler.id)
            else:
                await self._db[HANDLERS].delete_one({"_id": handler.id})
                await self._audit(who, HandlerAction.UNREGISTER, _declaration(handler))
                removed.append(handler.id)
        await self.reload()
        return {"removed": removed, "narrowed": narrowed}

    async def views(self) -> list[EventHandlerView]:
        """Every handler with its delivery stats; secrets masked."""
        cursor = self._db[HANDLERS].find().sort("created_at", ASCENDING)
        return [
            EventHandlerView(
                id=doc["_id"],
                name=doc.get("name"),
                event_types=doc["event_types"],
                url=doc["url"],
                secret=mask(_secrets(doc)[0]["secret"]),
                secrets=[
                    SecretView(n=s["n"], secret=mask(s["secret"]), added_at=s["added_at"])
                    for s in _secrets(doc)
                ],
                created_at=doc["created_at"],
                created_by=doc.get("created_by"),
                stats=EventHandlerStats.model_validate(doc.get("stats") or {}),
            )
            async for doc in cursor
        ]

    async def audit_trail(self, limit: int) -> list[HandlerAuditEntry]:
        cursor = self._db[AUDIT].find({"kind": KIND}).sort("at", DESCENDING)
        return [HandlerAuditEntry.model_validate(doc) async for doc in cursor.limit(limit)]

    async def _audit(
        self, who: str | None, action: HandlerAction, declaration: dict[str, Any]
    ) -> None:
        entry = HandlerAuditEntry(
            kind=KIND,
            name=declaration["id"],
            action=action,
            actor=who,
            at=datetime.now(UTC),
            declaration=declaration,
        )
        await self._db[AUDIT].insert_one(entry.model_dump(mode="json") | {"at": entry.at})

    async def reload(self, unless_read_after: datetime | None = None) -> None:
        """Read every registration (one query; there are few). With `unless_read_after`:
        not when a read that started after that moment is already in (several
        partitions waiting for the same fresh read share it)."""
        async with self._lock:
            if (
                unless_read_after is not None
                and self._read_at is not None
                and self._read_at >= unless_read_after
            ):
                return
            started = datetime.now(UTC)
            docs = await self._db[HANDLERS].find().to_list()
            self._current = {doc["_id"]: _handler(doc) for doc in docs}
            self._read_at = started

    async def matching(self, envelope: EventEnvelope) -> list[EventHandler]:
        occurred = aware(envelope.occurred_at)
        if self._read_at is None or occurred > self._read_at:
            # a handler may have been registered since the last read
            await self.reload(unless_read_after=occurred)
        return select(self._current.values(), envelope)

    def is_registered(self, handler_id: str) -> bool:
        return handler_id in self._current

    async def watch(self, interval: float) -> None:
        """Re-read the registrations every `interval` seconds; runs until cancelled."""
        while True:
            try:
                await self.reload()
            except Exception:
                log.warning("could not read the webhook registrations; keeping the last ones")
            await asyncio.sleep(interval)
