"""The event store's history in memory: envelopes appended as the store holds them (each
with its position), read with the same bounds and order as the real reader."""

from collections.abc import Collection
from datetime import datetime

from cqrs_contracts.envelopes import EventEnvelope
from query_service.queries.ports import HistoryUnavailableError


class InMemoryHistory:
    def __init__(self) -> None:
        self.envelopes: list[EventEnvelope] = []
        self.down = False  # True: every read raises, as a store that does not answer

    def append(self, *envelopes: EventEnvelope) -> None:
        for envelope in envelopes:
            position = len(self.envelopes) + 1
            self.envelopes.append(envelope.model_copy(update={"position": position}))

    def _read(self) -> list[EventEnvelope]:
        if self.down:
            raise HistoryUnavailableError("the in-memory store is down")
        return self.envelopes

    async def event_at(self, stream_id: str, version: int) -> EventEnvelope | None:
        found = [e for e in self._read() if e.stream_id == stream_id and e.version == version]
        return found[0] if found else None

    async def reached(self, stream_ids: Collection[str], until: datetime) -> tuple[int, int]:
        found = [e for e in self._read() if e.stream_id in stream_ids and e.occurred_at <= until]
        return max((e.position or 0 for e in found), default=0), len(found)

    async def of_streams(
        self,
        stream_ids: Collection[str],
        *,
        limit: int,
        up_to: int | None = None,
        until: datetime | None = None,
        through: EventEnvelope | None = None,
    ) -> list[EventEnvelope]:
        if through is not None:  # one shard here: its position bounds them all
            up_to = through.position or 0
        found = [
            e
            for e in self._read()
            if e.stream_id in stream_ids
            and (up_to is None or (e.position or 0) <= up_to)
            and (until is None or e.occurred_at <= until)
        ]
        return found[:limit]
