"""What QueryService needs from the outside, as Protocols: the read models, the cache in
front of them, the consistency waiter and the query log. bootstrap.py wires the real
adapters; query_service.adapters.memory holds in-memory ones that keep the same
contracts (tests/support/query_contracts runs both through the same tests)."""

from typing import Any, Protocol

from cqrs_contracts.consistency import StreamVersion
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
