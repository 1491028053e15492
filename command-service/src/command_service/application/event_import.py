"""POST /events: an admin appends one event to a stream (import and repair).

The event is checked against its contract (after lifting an older schema version),
its stream is named by `stream_id` or by the event's own id field,
`expected_version`, when given, must match the stream's current version, and the event
meets what a command would (`domain/imports.py`): a creation event only on an empty
stream, any other only on an existing one, the email claims taken and released.

On a sharded store the event goes to its stream's shard, and a stream that has an owner
(an order its user, a payment its order) must be on the owner's shard: an order is
imported with an id minted beside its user's (cqrs_event_store.shards.id_beside)."""

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from command_service.application.ports import (
    ClaimTakenError,
    VersionConflictError,
    WriteSession,
    WriteStore,
)
from command_service.application.service import RejectedError
from command_service.application.unique_holds import UniqueHolds
from command_service.domain.errors import DomainError
from command_service.domain.imports import admit_import
from cqrs_contracts.envelopes import AppendEventRequest, EventEnvelope, EventMetadata
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import EVENT_TYPES, EventData
from cqrs_contracts.upcasting import UnknownSchemaVersionError, upcast
from cqrs_event_store.shards import ShardMap, UnknownShardError, id_beside, named_shard

_ID_FIELD = {"user": "user_id", "order": "order_id", "payment": "payment_id"}
_OWNER_FIELD = {"order": "user_id", "payment": "order_id"}  # whose shard the stream is on


@dataclass
class EventImporter:
    store: WriteStore  # shard 0
    supported: list[str]
    other_shards: Sequence[WriteStore] = ()  # shards 1.., in order
    stores: tuple[WriteStore, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.stores = (self.store, *self.other_shards)
        self._shards = ShardMap(len(self.stores))
        self._holds = UniqueHolds(self.stores)

    async def append(self, request: AppendEventRequest, actor: str | None) -> EventEnvelope:
        cls = EVENT_TYPES.get(request.type)
        if cls is None or (self.supported and request.type not in self.supported):
            message = f"unknown event type {request.type!r}"
            raise RejectedError(400, ErrorCode.UNKNOWN_TYPE, message, supported=sorted(EVENT_TYPES))
        try:
            version, data = upcast(
                request.type, request.schema_version or cls.SCHEMA_VERSION, request.data
            )
            event = cls.model_validate(data)
        except UnknownSchemaVersionError as bad:
            raise RejectedError(422, ErrorCode.VALIDATION_FAILED, str(bad)) from bad
        except ValidationError as invalid:
            fields = [
                {"field": "data." + ".".join(map(str, e["loc"])), "message": e["msg"]}
                for e in invalid.errors()
            ]
            raise RejectedError(
                422, ErrorCode.VALIDATION_FAILED, f"not a valid {request.type}", fields=fields
            ) from invalid
        stream_id = request.stream_id or str(getattr(event, _ID_FIELD[cls.STREAM_TYPE]))
        shard = self._shard_of(
            stream_id, getattr(event, _OWNER_FIELD.get(cls.STREAM_TYPE, ""), None)
        )
        envelope = EventEnvelope(
            event_id=id_beside(stream_id),
            stream_type=cls.STREAM_TYPE,
            stream_id=stream_id,
            version=0,  # set by the store
            type=request.type,
            schema_version=version,
            data=event.model_dump(mode="json"),
            metadata=EventMetadata.model_validate({**request.metadata, "actor": actor}),
            occurred_at=datetime.now(UTC),
        )
        try:
            async with AsyncExitStack() as holds, self.stores[shard].session() as session:
                return await self._admit_and_append(session, event, envelope, request, holds)
        except ClaimTakenError as taken:
            message = f"{taken.claim.value} is already in use"
            raise RejectedError(409, ErrorCode.EMAIL_TAKEN, message, field="email") from taken
        except VersionConflictError as clash:
            raise RejectedError(
                409,
                ErrorCode.VERSION_CONFLICT,
                f"stream {stream_id} is at version {clash.actual}, not {clash.expected}",
                stream_id=stream_id,
                expected_version=clash.expected,
                current_version=clash.actual,
            ) from clash

    def _shard_of(self, stream_id: str, owner: object) -> int:
        """The stream's shard; 422 when it names none of this store's or is not beside its
        owner."""
        try:
            shard = self._shards.of(stream_id)
        except UnknownShardError as beyond:
            raise RejectedError(422, ErrorCode.VALIDATION_FAILED, str(beyond)) from beyond
        if isinstance(owner, str) and named_shard(owner) != shard:
            message = (
                f"stream {stream_id} is on shard {shard} but its owner {owner} on shard "
                f"{named_shard(owner)}: mint the stream's id beside its owner's"
            )
            raise RejectedError(422, ErrorCode.VALIDATION_FAILED, message)
        return shard

    async def _admit_and_append(
        self,
        session: WriteSession,
        event: EventData,
        envelope: EventEnvelope,
        request: AppendEventRequest,
        holds: AsyncExitStack,
    ) -> EventEnvelope:
        """The same preconditions and email claims a command would meet, then the append."""
        stream_id, expected = envelope.stream_id, request.expected_version
        state = await session.load(envelope.stream_type, stream_id)
        current = session.version_of(stream_id)
        if expected is not None and expected != current:
            raise VersionConflictError(stream_id, expected, current)
        try:
            claims, releases = admit_import(
                event, stream_id, state, current, session.stream_type_of(stream_id)
            )
        except DomainError as refused:
            raise RejectedError(
                refused.status, refused.code, refused.message, **refused.details
            ) from refused
        await self._holds.around(
            holds, named_shard(stream_id), claims, lambda: session.claim(claims, releases)
        )
        return await session.append_raw(envelope, expected)
