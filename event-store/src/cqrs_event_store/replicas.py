"""Reads that tolerate lag, routed between the primary and its read replicas.

A read says what it needs: the newest event position it must see (`needs`; 0: only the
lag bound). It goes to a replica that is up, no further behind than `max_lag` seconds
and has an event at or past `needs`; else to the primary. Whether a replica qualifies is
known from a probe of every server (the primary's GTID position; each replica's GTID
position, newest event position, port and server id) run at most every
`probe_interval` seconds in the background, never per read. A read whose answer shows
the replica did not have it yet (`complete` says no) or whose replica failed is run again
on the primary, so a read never answers less than the primary would have.

Why `needs` is enough: positions are allocated in order, so a replica holding an event
at or past position p holds every transaction that committed before p was allocated; a
stream's earlier versions all committed before its next version was written.

The write path never comes here: it uses the primary's engine itself."""

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cqrs_contracts.settings import MySQLSettings
from cqrs_event_store.replica_lag import GtidPosition, LagClock, parse_gtid

T = TypeVar("T")

PRIMARY = "primary"
_REPLICA_PROBE = text(
    "SELECT @@gtid_slave_pos, @@port, @@server_id, (SELECT MAX(position) FROM events)"
)
_PRIMARY_PROBE = text("SELECT @@gtid_binlog_pos")


@dataclass(frozen=True)
class Replica:
    name: str  # "host:port", as configured
    engine: AsyncEngine


@dataclass(frozen=True)
class ReplicaState:
    """What the last probe of a replica found."""

    name: str
    reached: int = 0  # the newest event position it has
    lag: float = 0.0  # seconds behind the primary
    port: int = 0  # as the server itself reports them: proof of who answered
    server_id: int = 0
    error: str | None = "not probed yet"  # the probe failed (or none ran): why

    def usable(self, max_lag: float) -> bool:
        return self.error is None and self.lag <= max_lag

    def why_not(self, max_lag: float) -> str | None:
        """Why reads skip it (None: they do not)."""
        if self.error is not None:
            return self.error
        return f"{self.lag:.1f}s behind (bound {max_lag:g}s)" if self.lag > max_lag else None

    def as_json(self) -> dict[str, Any]:
        return {
            "reached": self.reached,
            "lag_s": round(self.lag, 3),
            "port": self.port,
            "server_id": self.server_id,
            "error": self.error,
        }


@dataclass(frozen=True)
class Route:
    name: str  # PRIMARY or a replica's name
    engine: AsyncEngine


class ReplicasDegradedError(RuntimeError):
    """Some replica is down or too far behind (reads go to the primary instead)."""


class ReadRouter:
    def __init__(
        self,
        primary: AsyncEngine,
        replicas: Sequence[Replica] = (),
        *,
        max_lag: float = 5.0,
        probe_interval: float = 0.5,
        probe_timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.max_lag = max_lag
        self._interval, self._timeout, self._clock = probe_interval, probe_timeout, clock
        self._states = {r.name: ReplicaState(r.name) for r in self.replicas}
        self._lag = LagClock()
        self._probed_at = -float("inf")
        self._probe: asyncio.Task[dict[str, ReplicaState]] | None = None
        self._turn = itertools.count()
        self.served: Counter[str] = Counter()  # reads answered, by route name

    # --- routing -------------------------------------------------------------------

    def route(self, needs: int = 0) -> Route:
        """Where a read that must see position `needs` goes now."""
        self._probe_if_stale()
        able = [
            r
            for r in self.replicas
            if self._states[r.name].usable(self.max_lag) and self._states[r.name].reached >= needs
        ]
        if not able:
            return Route(PRIMARY, self.primary)
        chosen = able[next(self._turn) % len(able)]
        return Route(chosen.name, chosen.engine)

    async def read(
        self,
        run: Callable[[AsyncConnection], Awaitable[T]],
        *,
        needs: int = 0,
        complete: Callable[[T], bool] = lambda _: True,
    ) -> T:
        """`run` on a connection where `needs` is visible; again on the primary when the
        replica's answer is not `complete` or the replica failed."""
        route = self.route(needs)
        if route.name != PRIMARY:
            try:
                async with route.engine.connect() as conn:
                    answer = await run(conn)
            except DBAPIError as error:
                self._mark_down(route.name, error)
            else:
                if complete(answer):
                    self.served[route.name] += 1
                    return answer
                self.served["primary (replica behind)"] += 1
        async with self.primary.connect() as conn:
            answer = await run(conn)
        self.served[PRIMARY] += 1
        return answer

    # --- probing -------------------------------------------------------------------

    def states(self) -> dict[str, ReplicaState]:
        return dict(self._states)

    async def current(self) -> dict[str, ReplicaState]:
        """The replicas' states, probed afresh when the last probe is older than the
        interval (health checks)."""
        if self._clock() - self._probed_at >= self._interval:
            await self.refresh()
        return self.states()

    async def refresh(self) -> dict[str, ReplicaState]:
        """Probe the primary and every replica now (one probe at a time)."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_all())
        return await asyncio.shield(self._probe)

    def _probe_if_stale(self) -> None:
        if not self.replicas or self._clock() - self._probed_at < self._interval:
            return
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_all())

    async def _probe_all(self) -> dict[str, ReplicaState]:
        self._probed_at = self._clock()
        try:
            primary = await asyncio.wait_for(self._primary_position(), self._timeout)
        except Exception as error:  # replicas cannot be judged: reads use the primary
            reason = f"primary position unknown: {_why(error)}"
            self._states = {n: replace(s, error=reason) for n, s in self._states.items()}
            return self.states()
        self._lag.observe(self._clock(), primary)
        found = await asyncio.gather(*(self._probe_replica(r) for r in self.replicas))
        self._states = {name: state for name, state, _ in found}
        self._lag.forget_before([pos for _, state, pos in found if state.error is None])
        return self.states()

    async def _primary_position(self) -> GtidPosition:
        async with self.primary.connect() as conn:
            return parse_gtid(await conn.scalar(_PRIMARY_PROBE))

    async def _probe_replica(self, replica: Replica) -> tuple[str, ReplicaState, GtidPosition]:
        try:
            async with asyncio.timeout(self._timeout), replica.engine.connect() as conn:
                gtid, port, server_id, reached = (await conn.execute(_REPLICA_PROBE)).one()
        except Exception as error:
            return replica.name, ReplicaState(replica.name, error=_why(error)), {}
        position = parse_gtid(gtid)
        lag = self._lag.lag(self._clock(), position)
        state = ReplicaState(replica.name, int(reached or 0), lag, int(port), int(server_id), None)
        return replica.name, state, position

    def _mark_down(self, name: str, error: Exception) -> None:
        """A read failed on this replica: skip it until the next probe says otherwise."""
        self._states[name] = replace(self._states[name], error=f"read failed: {_why(error)}")

    # --- health and shutdown -------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """Every replica's state; ReplicasDegradedError naming those reads skip."""
        states = await self.current()
        skipped = {n: why for n, s in states.items() if (why := s.why_not(self.max_lag))}
        if skipped:
            raise ReplicasDegradedError("; ".join(f"{n}: {why}" for n, why in skipped.items()))
        return {"max_lag_s": self.max_lag, **{n: s.as_json() for n, s in states.items()}}

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(BaseException):
                await self._probe
        for replica in self.replicas:
            await replica.engine.dispose()


def replica_router(db: MySQLSettings, primary: AsyncEngine, pool_size: int = 5) -> ReadRouter:
    """The router over `primary` and the replicas `db` names (none: every read on the
    primary), each replica with a pool of its own."""
    replicas = [
        Replica(
            f"{r.host}:{r.port}",
            # looked up at call time: the OpenTelemetry instrumentation wraps it
            sqlalchemy_asyncio.create_async_engine(
                db.url(replica=r),
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=db.conn_max_lifetime,
                connect_args={"connect_timeout": db.connect_timeout},
            ),
        )
        for r in db.replicas
    ]
    return ReadRouter(
        primary, replicas, max_lag=db.max_replica_lag, probe_interval=db.replica_probe_interval
    )


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]
