"""What the projector needs from the outside, as Protocols."""

from typing import Protocol

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification, ReadModel
from cqrs_read_store.writer import ConcurrentChangeError

__all__ = ["ConcurrentChangeError", "History", "Notifier", "Views"]


class Views(Protocol):
    suffix: str

    async def ensure_indexes(self) -> None: ...

    async def load(self, model: type[ReadModel], doc_id: str) -> tuple[ReadModel | None, int]: ...

    async def save(self, doc: ReadModel, revision: int) -> int: ...

    async def load_many(
        self, model: type[ReadModel], doc_ids: list[str]
    ) -> dict[str, tuple[ReadModel, int]]:
        """The documents that exist among `doc_ids`, with their revisions."""

    async def save_many(self, writes: list[tuple[ReadModel, int]]) -> set[str]:
        """Store each document that is still at its revision, in one round trip per read
        model; the names of the read models where some document was not (or may not
        have been) stored: their documents are redone one by one."""

    async def delete(self, model: type[ReadModel], doc_id: str) -> bool:
        """Remove a document (an admin correction); whether there was one."""


class History(Protocol):
    async def stream_between(self, stream_id: str, after: int, before: int) -> list[EventEnvelope]:
        """A stream's events with after < version < before, in version order."""


class Notifier(Protocol):
    async def published(self, changes: list[ChangeNotification], envelope: EventEnvelope) -> None:
        """Invalidate and announce `changes`, then record and feed the event."""

    async def published_many(
        self, changes: list[ChangeNotification], envelopes: list[EventEnvelope]
    ) -> None:
        """The same for a batch: every change, then every event, in one round trip."""
