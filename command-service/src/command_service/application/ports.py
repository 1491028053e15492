"""Ports: what the application needs from storage, as Protocols the adapters fulfil."""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from command_service.domain.decisions import StreamChange, UniqueClaim
from command_service.domain.model import Aggregate
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata


class VersionConflictError(Exception):
    """Another writer appended to a stream first (the (stream_id, version) guard)."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        super().__init__(f"stream {stream_id}: expected version {expected}, found {actual}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class ClaimTakenError(Exception):
    """A unique value (an email) already belongs to another aggregate."""

    def __init__(self, claim: UniqueClaim) -> None:
        super().__init__(f"a {claim.scope} claim is taken")  # never the (personal) value
        self.claim = claim


class ForgottenSubjectError(Exception):
    """The person asked to be forgotten: their data key is destroyed, and nothing of
    theirs is written again."""

    def __init__(self, subject: str) -> None:
        super().__init__(f"user {subject} was forgotten")
        self.subject = subject


class DuplicateKeyError(Exception):
    """The idempotency key was stored by a concurrent request first."""


class CommandIdTakenError(Exception):
    """The command id is in the command log already: one id names one command."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"command id {command_id} was used before")
        self.command_id = command_id


class BatchConflictError(Exception):
    """A batch of commands could not be written as one transaction (a version, claim,
    key or id clashed, or the database gave up on a deadlock): nothing of it was
    written; run each of its commands on its own."""


@dataclass(frozen=True)
class StoredAnswer:
    command_id: str
    http_status: int
    body: dict[str, Any]
    # for an idempotency key: what the answered request was (type, data, expected
    # version), so the key sent with another request is refused instead of replayed
    fingerprint: str | None = None
    replayed: bool = False  # this answer was given before (the idempotency key's), not now


@dataclass(frozen=True)
class CommandRecord:
    """One row of the command log (the audit trail)."""

    command_id: str
    type: str
    status: str
    http_status: int
    aggregate_id: str | None
    idempotency_key: str | None
    actor: str | None
    request: dict[str, Any]
    error: dict[str, Any] | None
    event_ids: list[str]
    received_at: datetime
    duration_ms: int


class WriteSession(Protocol):
    """One transaction on the write store."""

    async def load(self, stream_type: str, stream_id: str) -> Aggregate | None:
        """The aggregate's state (None if the stream is empty); remembers its version."""

    def version_of(self, stream_id: str) -> int:
        """The version seen by `load` (0 for a stream never loaded or empty)."""

    def stream_type_of(self, stream_id: str) -> str | None:
        """The type of the stream seen by `load` (None for one never loaded or empty)."""

    async def append(
        self, changes: tuple[StreamChange, ...], metadata: EventMetadata, now: datetime
    ) -> list[EventEnvelope]:
        """Append each change after the version seen by `load`, with outbox rows."""

    async def append_raw(
        self, envelope: EventEnvelope, expected_version: int | None
    ) -> EventEnvelope:
        """Append one already-built event (admin import) with its outbox row."""

    async def claim(
        self, claims: tuple[UniqueClaim, ...], releases: tuple[UniqueClaim, ...]
    ) -> None: ...

    async def record_command(self, record: CommandRecord) -> None: ...

    async def remember_answer(
        self, key: str, answer: StoredAnswer, expires_at: datetime
    ) -> None: ...


class BatchSession(WriteSession, Protocol):
    """One transaction for a batch of commands (group commit): the writes of each
    command are staged and sent by `flush`; reads see what earlier commands staged."""

    async def flush(self, now: datetime) -> dict[str, EventEnvelope]:
        """Write what is staged; the stored events by id, with their positions. Raises
        BatchConflictError when anything clashes."""


class WriteStore(Protocol):
    def session(self) -> AbstractAsyncContextManager[WriteSession]:
        """A transaction: committed when the block ends normally, rolled back otherwise."""

    def batch(self) -> AbstractAsyncContextManager[BatchSession]:
        """A transaction shared by a batch of commands; a deadlock or a failed commit
        surfaces as BatchConflictError."""

    async def find_answer(self, key: str, now: datetime) -> StoredAnswer | None: ...

    def hold(self, claims: Sequence[UniqueClaim]) -> AbstractAsyncContextManager[None]:
        """Hold the claims' values on this shard for a transaction on another one: until
        the block ends, a claim of one of them here waits; ClaimTakenError when one is
        claimed here already, VersionConflictError when waiting for one timed out.
        Nothing of it is ever stored (application/unique_holds.py)."""


BatchJob = TypeVar("BatchJob")
BatchAnswer = TypeVar("BatchAnswer")


class BatchWriter(Protocol[BatchJob, BatchAnswer]):
    """What group commit hands each batch to (the service's one-transaction write)."""

    async def __call__(self, jobs: list[BatchJob], /) -> list[BatchAnswer | BaseException]:
        """One answer, or the exception to raise, per job, in order."""


class CommandListener(Protocol):
    def __call__(self, shard: int, /) -> None:
        """Told after each commit that appended events on `shard` (wakes its relay)."""


EventStream = AsyncIterator[EventEnvelope]
