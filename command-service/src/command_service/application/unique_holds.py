"""Unique values (emails) across the shards of the event store.

A claim's row lives on its owner's shard, written in the owner's transaction. While that
transaction runs, the value is also held on every other shard: an uncommitted row of
its own there (`WriteStore.hold`), rolled back once the owner's shard committed. Two
commands that claim one value from two shards therefore meet on some shard: the later
one waits there until the first has committed (then finds the value taken: 409) or
rolled back (then goes on). A value committed on any shard refuses the hold at once.

Every claimer takes its locks on a value in the same order, shard 0 first (`around`:
the shards before its own, its own claim, the shards after), so no two commands wait on
each other across servers (a cycle no single server could see as a deadlock). A crash
loses nothing: the holds are uncommitted rows of a connection that is gone, which the
server rolls back."""

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import TypeVar

from command_service.application.ports import WriteStore
from command_service.domain.decisions import UniqueClaim

T = TypeVar("T")


class UniqueHolds:
    def __init__(self, stores: Sequence[WriteStore]) -> None:
        self._stores = stores

    async def around(
        self,
        holds: AsyncExitStack,
        shard: int,
        claims: Sequence[UniqueClaim],
        claim: Callable[[], Awaitable[T]],
    ) -> T:
        """`claim` (what writes `claims` on `shard`, their owner's) between holding them
        on the shards before `shard` and on those after it; held until `holds` closes."""
        await self._hold(holds, range(shard), claims)
        claimed = await claim()
        await self._hold(holds, range(shard + 1, len(self._stores)), claims)
        return claimed

    async def _hold(
        self, holds: AsyncExitStack, shards: range, claims: Sequence[UniqueClaim]
    ) -> None:
        if not claims:
            return
        for other in shards:
            await holds.enter_async_context(self._stores[other].hold(claims))
