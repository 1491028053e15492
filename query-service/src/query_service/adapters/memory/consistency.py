"""Applied stream versions in memory: what the projector records once an event is in
every read model. A wait wakes as soon as a version is raised (no polling)."""

import asyncio
import contextlib
import time

from cqrs_contracts.consistency import StreamVersion


class InMemoryWaiter:
    def __init__(self) -> None:
        self._applied: dict[str, int] = {}
        self._raised = asyncio.Event()

    def raise_applied(self, stream_id: str, version: int) -> None:
        """Record `version` of the stream as applied (an applied version never goes back)."""
        self._applied[stream_id] = max(self._applied.get(stream_id, 0), version)
        raised, self._raised = self._raised, asyncio.Event()
        raised.set()

    def _behind(self, wanted: list[StreamVersion]) -> list[StreamVersion]:
        return [w for w in wanted if self._applied.get(w.stream_id, 0) < w.version]

    async def wait(self, wanted: list[StreamVersion], timeout_s: float) -> list[StreamVersion]:
        deadline = time.monotonic() + timeout_s
        missing = self._behind(wanted)
        while missing and (left := deadline - time.monotonic()) > 0:
            raised = self._raised
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await raised.wait()
            missing = self._behind(missing)
        return missing
