"""The one place that reads settings and wires the command-service's adapters."""

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.handler_store import SqlHandlerStore
from command_service.adapters.kafka_publisher import KafkaProducer, KafkaPublisher
from command_service.adapters.log_reader import LogReader
from command_service.adapters.outbox_relay import OutboxRelay
from command_service.adapters.retention import Retention
from command_service.adapters.write_keys import WriteKeys
from command_service.adapters.write_store import SqlWriteStore
from command_service.application.event_import import EventImporter
from command_service.application.handler_registry import command_registry
from command_service.application.service import CommandService
from cqrs_contracts.handlers import CommandDeclaration
from cqrs_contracts.settings import Settings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.replicas import ReadRouter, replica_router
from cqrs_event_store.shard_routers import shard_routers, shard_urls
from cqrs_http.handlers.registry import HandlerRegistry
from cqrs_http.telemetry import install_tracing


@dataclass
class Shard:
    """One shard of the event store (shard 0: the only one, unless sharded): its
    primary's engine and its outbox relay."""

    number: int
    engine: AsyncEngine
    relay: OutboxRelay


@dataclass
class Container:
    settings: Settings
    shards: list[Shard]  # index = shard number (cqrs_event_store.shards)
    replicas: ReadRouter  # the events and commands APIs' reads (replicas where they can)
    broker: KafkaProducer  # the relays'; connected by the app's or `relay`'s start-up
    commands: CommandService
    importer: EventImporter
    reader: LogReader
    redis: Redis  # shared rate-limit counters
    retention: Retention
    handlers: HandlerRegistry[
        CommandDeclaration
    ]  # declared and disabled command types, shared by replicas

    @property
    def engine(self) -> AsyncEngine:
        """Shard 0's primary: every write of an unsharded store, and the handler types."""
        return self.shards[0].engine

    @property
    def relay(self) -> OutboxRelay:
        """Shard 0's relay (`shards` has each shard's)."""
        return self.shards[0].relay

    @property
    def engines(self) -> list[AsyncEngine]:
        return [shard.engine for shard in self.shards]

    async def run_relays(self) -> None:
        """Every shard's outbox relay, until cancelled."""
        await asyncio.gather(*(shard.relay.run() for shard in self.shards))


def make_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    db = settings.database.mysql
    # looked up at call time: the OpenTelemetry instrumentation wraps it (telemetry.py)
    return sqlalchemy_asyncio.create_async_engine(
        url or db.url(),
        pool_size=db.max_idle_conns,
        max_overflow=max(db.max_open_conns - db.max_idle_conns, 0),
        pool_recycle=db.conn_max_lifetime,
        pool_timeout=settings.command_service.request_timeout,
        # statements are bounded by the request's time limit (security.request_timeout)
        connect_args={"connect_timeout": db.connect_timeout},
    )


def build(settings: Settings) -> Container:
    """Every adapter, unconnected: connections open in the app's startup hooks."""
    install_tracing(settings.telemetry, "command-service")  # before the clients: their spans
    engines = [make_engine(settings, url) for url in shard_urls(settings.database.mysql)]
    engine = engines[0]
    replicas = replica_router(settings.database.mysql, engine)
    cs = settings.command_service
    broker = KafkaProducer(
        settings.kafka.bootstrap, settings.kafka.producer_timeout, cs.relay_max_batch_bytes
    )
    publisher = KafkaPublisher(broker)
    shards = [
        Shard(
            number,
            shard_engine,
            OutboxRelay(
                shard_engine,
                publisher,
                cs.relay_batch_size,
                cs.relay_poll_interval,
                cs.relay_linger,
            ),
        )
        for number, shard_engine in enumerate(engines)
    ]
    master, ttl = master_key_from(settings.privacy), settings.privacy.key_cache_ttl
    keys = WriteKeys(master, ttl)
    stores = [SqlWriteStore(e, settings.kafka.topic, cs.snapshot_every, keys) for e in engines]

    def on_commit(shard: int) -> None:
        if cs.relay_enabled:
            shards[shard].relay.wake()

    commands = CommandService(stores[0], settings, on_commit=on_commit, other_shards=stores[1:])
    return Container(
        settings=settings,
        shards=shards,
        replicas=replicas,
        broker=broker,
        commands=commands,
        importer=EventImporter(stores[0], settings.cqrs.supported_event_types, stores[1:]),
        # the events and commands APIs read keys afresh (ttl 0): a user forgotten through
        # another replica must read as erased at once, and these reads are not hot paths
        reader=LogReader(
            shard_routers(settings.database.mysql, engines, home=replicas),
            KeyRing(engines, master, ttl=0),
        ),
        redis=Redis.from_url(
            settings.redis.url,
            socket_timeout=settings.redis.socket_timeout,
            socket_connect_timeout=settings.redis.connect_timeout,
        ),
        retention=Retention(engines, settings.cqrs.max_commands),
        handlers=command_registry(SqlHandlerStore(engine), commands),
    )
