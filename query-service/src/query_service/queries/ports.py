"""What QueryService needs from the outside, as Protocols: the read models, the cache in
front of them, the consistency waiter, the query log, and for time travel the event
store's history and the cache of past answers. bootstrap.py wires the real
adapters; query_service.adapters.memory holds in-memory ones that keep the same
contracts (tests/support/query_contracts runs both through the same tests)."""

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from cqrs_contracts.consistency import StreamVersion
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ReadModel


class Page(Protocol):
    """Documents in the order asked for, and whether more follow them."""

    @property
    def items(self) -> list[ReadModel]: ...

    @property
    def has_more(self) -> bool: ...


class ReadModels(Protocol):
    async def get(self, read_model: str, doc_id: str) -> ReadModel | None: ...

    async def page(
        self, read_model: str, where: dict[str, Any], sort: tuple[str, int], limit: int
    ) -> Page:
        """Up to `limit` documents matching the MongoDB filter `where`, in (sort field,
        _id) order, the direction of `sort` for both (1 ascending, -1 descending)."""

    async def count(self, read_model: str) -> int: ...


class Cache(Protocol):
    """A read-through cache the projector invalidates: per change it drops the document's
    key and bumps its read model's generation. A lookup answers the generation with the
    cached copy; a put stores only while that generation has not moved since."""

    def doc_key(self, read_model: str, doc_id: str) -> str: ...

    def list_key(self, read_model: str, generation: str, params: dict[str, Any]) -> str:
        """A list page's key: one per generation and set of parameters."""

    async def document(self, read_model: str, doc_id: str) -> tuple[bytes | None, int, str]:
        """(cached JSON or None, the document's own version, the generation to put with)."""

    async def page(self, read_model: str, params: dict[str, Any]) -> tuple[bytes | None, str]:
        """(cached JSON of the list page or None, the generation its key is under)."""

    async def put(self, key: str, value: bytes, read_model: str, generation: str) -> bool:
        """Cache the JSON `value` under `key` unless the generation moved; whether it was."""


class Waiter(Protocol):
    async def wait(self, wanted: list[StreamVersion], timeout_s: float) -> list[StreamVersion]:
        """[] once every stream reached its version; what is still behind at the deadline."""


class Log(Protocol):
    def record(self, entry: dict[str, Any]) -> None:
        """Keep one query's entry (never waits; keyed by its `query_id`)."""


class HistoryUnavailableError(Exception):
    """The event store did not answer (time travel answers 503; live queries go on)."""


class History(Protocol):
    """The event store, read only; envelopes at their current schema versions. Every
    method raises HistoryUnavailableError when the store does not answer."""

    async def event_at(self, stream_id: str, version: int) -> EventEnvelope | None:
        """One event of a stream (None: no such version)."""

    async def reached(self, stream_ids: Collection[str], until: datetime) -> tuple[int, int]:
        """Of the streams' events that occurred at or before `until`: the highest position
        (0: none; positions are per shard of the event store: over streams of several
        shards, the sum of each one's highest, which also grows with every event a later
        `until` reaches) and how many there are."""

    async def of_streams(
        self,
        stream_ids: Collection[str],
        *,
        limit: int,
        up_to: int | None = None,
        until: datetime | None = None,
        through: EventEnvelope | None = None,
    ) -> list[EventEnvelope]:
        """The streams' events with position <= `up_to` (a position of the streams'
        shard) and occurred at or before `until` (each bound when given), and up to the
        stored event `through` (on its shard by position, on any other by time), in
        position order, at most `limit`."""


class PastAnswers(Protocol):
    """Time-travel answers, which never change once settled: one entry per (read model,
    document, point in its past); all of a document's go at once (erasure)."""

    async def get(self, read_model: str, doc_id: str, point: str) -> bytes | None: ...

    async def put(self, read_model: str, doc_id: str, point: str, value: bytes) -> None: ...
