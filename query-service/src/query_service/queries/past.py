"""Time travel: a document as it was at a version of its own stream or at a time, folded
from the event store with the projector's own step (`cqrs_read_store.projections.fold`).

The streams that feed the document are the ones its live copy has applied (`versions`),
and its own. As of version v: every event of those streams up to the position of (own
stream, v) (the streams of one document share a shard of the event store: positions are
per shard; a stream on another shard would be bounded by that event's time). As of a
time t: every event of those streams that occurred at or before t. At most
`query_service.time_travel_max_events` events are folded (else 422 history_too_long). An
answer whose point is older than `time_travel_settle` never changes, so it is cached
(PastAnswers): a version under `v:<version>`; a time under the events it reaches
(`t:<last position>:<count>`), so times that reach the same events share one answer."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from cqrs_contracts import channels as ch
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.read_models import ReadModel
from cqrs_contracts.settings import Settings
from cqrs_read_store.precision import as_stored
from cqrs_read_store.projections.fold import fold
from cqrs_read_store.projections.registry import BY_NAME
from query_service.queries.ports import History, HistoryUnavailableError, PastAnswers, ReadModels

_encode = msgspec.json.Encoder(enc_hook=str).encode


class PastQueryError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.details = status, code, details


@dataclass(frozen=True)
class PastAnswer:
    """The document as it was (JSON), its own stream's version then, and the JSON of the
    `as_of` metadata: {version, position, at} of the last event folded."""

    result: bytes
    version: int
    as_of: bytes
    from_cache: bool = False


def _packed(answer: PastAnswer) -> bytes:
    # the metadata's JSON holds no raw newline (JSON escapes it): the first one splits
    return b"%d\n%s\n%s" % (answer.version, answer.as_of, answer.result)


def _unpacked(raw: bytes) -> PastAnswer:
    version, as_of, result = raw.split(b"\n", 2)
    return PastAnswer(result, int(version), as_of, from_cache=True)


@dataclass
class TimeTravel:
    store: ReadModels
    history: History
    answers: PastAnswers
    settings: Settings

    @property
    def _caching(self) -> bool:
        qs = self.settings.query_service
        return self.settings.cqrs.caching_enabled and qs.time_travel_cache_ttl > 0

    async def answer(self, read_model: str, doc_id: str, as_of: int | datetime) -> PastAnswer:
        if isinstance(as_of, int) and self._caching:
            cached = await self.answers.get(read_model, doc_id, ch.past_version(as_of))
            if cached is not None:
                return _unpacked(cached)
        live = await self.store.get(read_model, doc_id)
        if live is None:
            raise PastQueryError(404, ErrorCode.NOT_FOUND, f"{read_model} {doc_id} not found")
        try:
            point, settled_at, events = await self._events(live, as_of)
        except HistoryUnavailableError as down:
            raise PastQueryError(
                503, ErrorCode.DEPENDENCY_UNAVAILABLE, "the event store is unavailable"
            ) from down
        folded = fold(BY_NAME[read_model], doc_id, events)
        if folded.doc is None:
            raise PastQueryError(
                404, ErrorCode.NOT_FOUND, f"{read_model} {doc_id} did not exist at {as_of}"
            )
        meta = {"version": folded.version, "position": folded.position, "at": folded.at}
        doc = as_stored(folded.doc)  # the times the live copy keeps (milliseconds)
        answer = PastAnswer(_encode(doc.model_dump(mode="json")), folded.version, _encode(meta))
        settle = timedelta(seconds=self.settings.query_service.time_travel_settle)
        if self._caching and settled_at < datetime.now(UTC) - settle:
            await self.answers.put(read_model, doc_id, point, _packed(answer))
        return answer

    async def _events(
        self, live: ReadModel, as_of: int | datetime
    ) -> tuple[str, datetime, list[EventEnvelope]]:
        """The cache field of the point, when it was, and the events to fold."""
        limit = self.settings.query_service.time_travel_max_events
        streams = sorted({*live.versions, live.id})
        if isinstance(as_of, int):
            bound = await self.history.event_at(live.id, as_of)
            if bound is None:
                raise PastQueryError(
                    404, ErrorCode.NOT_FOUND, f"{live.NAME} {live.id} has no version {as_of}"
                )
            events = await self.history.of_streams(streams, limit=limit + 1, through=bound)
            point, settled_at = ch.past_version(as_of), bound.occurred_at
        else:
            position, count = await self.history.reached(streams, as_of)
            if count == 0:
                raise PastQueryError(
                    404, ErrorCode.NOT_FOUND, f"{live.NAME} {live.id} did not exist at {as_of}"
                )
            if count > limit:
                raise _too_long(live, limit)
            events = await self.history.of_streams(streams, limit=limit + 1, until=as_of)
            point, settled_at = ch.past_reach(position, count), as_of
        if len(events) > limit:
            raise _too_long(live, limit)
        return point, settled_at, events


def _too_long(live: ReadModel, limit: int) -> PastQueryError:
    return PastQueryError(
        422,
        ErrorCode.HISTORY_TOO_LONG,
        f"{live.NAME} {live.id} is fed by more than {limit} events up to that point"
        " (query_service.time_travel_max_events)",
        limit=limit,
    )
