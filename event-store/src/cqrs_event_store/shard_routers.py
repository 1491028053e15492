"""The event store's shards as its readers see them: per shard, by number, the primary's
engine and a ReadRouter over it (shard 0's with the configured read replicas, the
others' with none: replicas are shard 0's only). Built from `database.mysql` (shard 0)
and `database.mysql.shards` (1..), with `cqrs_event_store.shards.ShardMap` saying which
shard holds an id. One shard behaves as the store did before sharding.

Nothing here writes: the command-service's write path keeps its own engines."""

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.settings import MySQLSettings
from cqrs_event_store.replicas import ReadRouter, replica_router
from cqrs_event_store.shards import ShardMap


@dataclass(frozen=True)
class ShardRouters:
    """One ReadRouter per shard; index = shard number."""

    routers: tuple[ReadRouter, ...]
    map: ShardMap = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "map", ShardMap(len(self.routers)))

    @classmethod
    def single(cls, engine: AsyncEngine, replicas: ReadRouter | None = None) -> "ShardRouters":
        """A one-shard store: `engine`, read through `replicas` (None: no replicas)."""
        return cls((replicas or ReadRouter(engine),))

    @classmethod
    def from_engines(cls, engines: Sequence[AsyncEngine]) -> "ShardRouters":
        """Every read on the shards' primaries (no replicas): readers that need no lag."""
        return cls(tuple(ReadRouter(e) for e in engines))

    def __len__(self) -> int:
        return len(self.routers)

    def __getitem__(self, shard: int) -> ReadRouter:
        return self.routers[shard]

    @property
    def numbers(self) -> range:
        return range(len(self.routers))

    @property
    def primaries(self) -> list[AsyncEngine]:
        return [r.primary for r in self.routers]

    def of(self, stream_id: str) -> ReadRouter:
        """The router of the shard holding `stream_id` (UnknownShardError beyond)."""
        return self.routers[self.map.of(stream_id)]

    def group(self, ids: Collection[str]) -> dict[int, list[str]]:
        """`ids` by the shard that holds each, shards in order (UnknownShardError when an
        id names a shard this store does not have)."""
        grouped: dict[int, list[str]] = {}
        for id_ in ids:
            grouped.setdefault(self.map.of(id_), []).append(id_)
        return dict(sorted(grouped.items()))

    async def close(self) -> None:
        """Stop the routers' probes and dispose of their replicas' pools (the primaries'
        engines are their owner's to dispose of)."""
        await asyncio.gather(*(r.close() for r in self.routers))


def health_check_name(shard: int) -> str:
    """The name of a shard's check in a service's health: "event_store" for shard 0 (as
    before sharding), "event_store_shard_<n>" for the others."""
    return "event_store" if shard == 0 else f"event_store_shard_{shard}"


def shard_urls(db: MySQLSettings, driver: str = "aiomysql") -> list[str]:
    """Each shard's URL, by number: `db` itself, then `db.shards` in order."""
    return [db.url(driver), *(db.url(driver, replica=s) for s in db.shards)]


def shard_engines(
    db: MySQLSettings, pool_size: int = 5, max_overflow: int = 5
) -> list[AsyncEngine]:
    """An engine per shard's primary, by number, each with a pool of its own."""
    return [
        # looked up at call time: the OpenTelemetry instrumentation wraps it
        sqlalchemy_asyncio.create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_recycle=db.conn_max_lifetime,
            connect_args={"connect_timeout": db.connect_timeout},
        )
        for url in shard_urls(db)
    ]


def shard_routers(
    db: MySQLSettings, engines: Sequence[AsyncEngine], home: ReadRouter | None = None
) -> ShardRouters:
    """The routers over `engines` (one per shard, by number): shard 0's over the replicas
    `db` names (or `home`, a router already made for shard 0), the others' over none."""
    if len(engines) != 1 + len(db.shards):
        raise ValueError(f"{len(engines)} engines for {1 + len(db.shards)} shards")
    first = home or replica_router(db, engines[0])
    others = (
        ReadRouter(e, max_lag=db.max_replica_lag, probe_interval=db.replica_probe_interval)
        for e in engines[1:]
    )
    return ShardRouters((first, *others))
