"""Issue 18: the event store on two shards (the private mariadb and mariadb-shard), a steady
command load over users of both, and shard 1's server killed with kill -9 for a few
seconds, then restarted. While it is down, the users of shard 0 go on being served;
afterwards nothing was lost on either shard: every 2xx is in the event store, every
stored event is on the topic, the read models equal a replay of both shards and both
outboxes drain.

What shard 0 serves meanwhile: updates, orders and payments of its users. Not new users
(nor email changes): an email is held on every shard while it is claimed
(command_service.application.unique_holds), so a CreateUser waits for shard 1 too; the
run prints the accepted commands of shard 0 by type.

Fixed durations, so the run is bounded by construction (about a minute)."""

import asyncio
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store.shards import named_shard
from tests.chaos import audit
from tests.chaos.load import PAYMENT, CommandLoad, Sent
from tests.chaos.private_infra import PrivateInfra
from tests.chaos.scenario import Clock, read_steadily, settled
from tests.chaos.system import Namespace, System

RATE = 30  # steady commands per second, plus a crowd of 10 on the hot aggregates each second
WARM_UP, DOWN_FOR, RECOVER_FOR = 8.0, 5.0, 8.0  # seconds
SHARD_SERVER = "mariadb-shard"  # shard 1's server
GRACE = 1.0  # s after the kill: an answer to a commit made just before it may still arrive
# shard 0's commands accepted while shard 1 is down: a quarter of the steady rate (about
# half of it goes to shard 0, and the retries of shard 1's commands share the service)
AT_LEAST = RATE * (DOWN_FOR - GRACE) / 4


def shard_of(sent: Sent) -> int:
    return named_shard(str(sent.answer["aggregate_id"]))


def accepted_between(sent: list[Sent], start: float, end: float) -> list[Sent]:
    """Accepted commands answered within [start, end]."""
    return [
        s
        for s in sent
        if s.accepted and s.answered_at is not None and start <= s.answered_at <= end
    ]


@pytest.mark.timeout(400)
async def test_kill_9_a_shard_under_load_spares_the_other_and_loses_nothing(
    private_infra: PrivateInfra,
    namespace: Namespace,
    sharded_system: System,
    event_stores: tuple[AsyncEngine, AsyncEngine],
) -> None:
    system = sharded_system
    load, clock = CommandLoad(system.command_url, rate=RATE), Clock()
    await load.seed()
    stop = asyncio.Event()
    commands = asyncio.create_task(load.run(stop))
    reads = asyncio.create_task(read_steadily(system.query_url, load, stop))
    try:
        clock.say(load, "load started")
        await asyncio.sleep(WARM_UP)
        await asyncio.to_thread(private_infra.kill, SHARD_SERVER)
        killed_at = time.monotonic()
        clock.say(load, f"killed {SHARD_SERVER} (-9)")
        await asyncio.sleep(DOWN_FOR)
        restarting_at = time.monotonic()
        await asyncio.to_thread(private_infra.up, SHARD_SERVER)
        clock.say(load, f"restarted {SHARD_SERVER}")
        await asyncio.sleep(RECOVER_FOR)
        stop.set()
        await commands
        clock.say(load, "load stopped; every command answered")
        read_outcomes = await reads
        await settled(event_stores, namespace, private_infra, system, clock)
        clock.say(load, "settled")
    finally:
        stop.set()
        await load.close()

    down = accepted_between(load.sent, killed_at + GRACE, restarting_at)
    while_down = Counter(shard_of(s) for s in down)
    kinds_down = Counter(s.type for s in down if shard_of(s) == 0)
    before = Counter(
        shard_of(s) for s in accepted_between(load.sent, killed_at - WARM_UP, killed_at)
    )
    numbers = audit.Numbers()
    audit.from_client(numbers, load.sent)
    await audit.from_event_store(numbers, event_stores, load.sent)
    stored = await audit.stored_event_ids(event_stores)
    await audit.from_topic(numbers, private_infra.endpoints.kafka_brokers, namespace.topic, stored)
    client, views = audit.read_store(private_infra.endpoints.mongodb_uri, namespace.read_database)
    try:
        report = await audit.from_read_models(numbers, views, event_stores, system.settings.privacy)
    finally:
        await client.close()
    paid = await audit.hot_totals(event_stores, load.hot_orders)
    payments = Counter(
        s.data["order_id"] for s in load.sent if s.accepted and s.type == "ProcessPayment"
    )
    on_shards = Counter(shard_of(s) for s in load.sent if s.accepted)
    print(numbers.table(), flush=True)
    print(f"  accepted by shard: {dict(on_shards)}; before the kill: {dict(before)}")
    print(f"  accepted while shard 1 was down (after {GRACE} s): {dict(while_down)}")
    print(f"  ... of shard 0, by type: {dict(kinds_down)}")
    print(f"  failed attempts by kind: {dict(load.failure_kinds())}")
    print(f"  query-service answers during the run: {dict(read_outcomes)}", flush=True)

    assert on_shards[0] > 0, "the load wrote no user of shard 0"
    assert on_shards[1] > 0, "the load wrote no user of shard 1"
    assert while_down[0] >= AT_LEAST, "shard 0's users were not served while shard 1 was down"
    assert while_down[1] == 0, "a command of shard 1 was accepted while its server was down"
    assert numbers.gave_up == 0
    assert numbers.rejected == 0, [s.answer for s in load.sent if s.status and not s.accepted][:3]
    assert numbers.accepted == numbers.sent
    assert numbers.found == numbers.accepted
    assert numbers.foreign_events == 0
    assert numbers.duplicate_keys == 0
    assert numbers.streams_not_dense == 0
    assert numbers.lost_updates == 0
    assert numbers.outbox_left == 0
    assert numbers.missing_from_topic == 0
    assert (numbers.mismatches, numbers.missing, numbers.extra) == (0, 0, 0), (
        audit.differences(report) or report.missing[:5] or report.extra[:5]
    )
    assert numbers.retried > 0, "no kill was felt by the client: the scenario did not bite"
    for order_id in load.hot_orders:
        assert paid[order_id] == Decimal(PAYMENT) * payments[order_id], order_id
