"""Issue 9, items 6 and 7: under a steady command load, kill -9 each part of the system in
turn (the four processes, then Kafka, MariaDB, the read store and Redis), restart it, and
prove afterwards that nothing was lost, nothing applied twice and nothing projected wrong.

Fixed durations, so the run is bounded by construction (about three minutes)."""

import asyncio
import random
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.chaos import audit
from tests.chaos.load import PAYMENT, CommandLoad
from tests.chaos.private_infra import PrivateInfra
from tests.chaos.scenario import Clock, read_steadily, settled
from tests.chaos.system import Namespace, System

RATE = 30  # steady commands per second, plus a crowd of 10 on the hot aggregates each second
WARM_UP, DOWN_FOR, RECOVER_FOR = 8.0, 3.0, 8.0  # seconds
PROCESSES = ("command-service", "relay", "projector", "query-service")
SERVERS = ("kafka", "mariadb", "readstore", "redis")


async def kill_and_restart(
    name: str, system: System, infra: PrivateInfra, load: CommandLoad, clock: Clock
) -> None:
    if name in PROCESSES:
        system[name].kill()
    else:
        await asyncio.to_thread(infra.kill, name)
    clock.say(load, f"killed {name} (-9)")
    await asyncio.sleep(DOWN_FOR)
    if name in PROCESSES:
        await system[name].start()
    else:
        await asyncio.to_thread(infra.up, name)
    clock.say(load, f"restarted {name}")
    await asyncio.sleep(RECOVER_FOR)


@pytest.mark.timeout(600)
async def test_kill_9_each_component_under_load_loses_nothing(
    private_infra: PrivateInfra, namespace: Namespace, system: System, event_store: AsyncEngine
) -> None:
    load, clock = CommandLoad(system.command_url, rate=RATE), Clock()
    await load.seed()
    stop = asyncio.Event()
    commands = asyncio.create_task(load.run(stop))
    reads = asyncio.create_task(read_steadily(system.query_url, load, stop))
    try:
        clock.say(load, "load started")
        await asyncio.sleep(WARM_UP)
        for name in (*PROCESSES, *SERVERS):
            await kill_and_restart(name, system, private_infra, load, clock)
        stop.set()
        await commands
        clock.say(load, "load stopped; every command answered")
        read_outcomes = await reads
        await settled(event_store, namespace, private_infra, system, clock)
        clock.say(load, "settled")
    finally:
        stop.set()
        await load.close()

    numbers = audit.Numbers()
    audit.from_client(numbers, load.sent)
    await audit.from_event_store(numbers, event_store, load.sent)
    stored = await audit.stored_event_ids(event_store)
    await audit.from_topic(numbers, private_infra.endpoints.kafka_brokers, namespace.topic, stored)
    client, views = audit.read_store(private_infra.endpoints.mongodb_uri, namespace.read_database)
    try:
        report = await audit.from_read_models(numbers, views, event_store, system.settings.privacy)
        sample = load.hot_users + random.sample(load.users, min(30, len(load.users)))
        await audit.from_query_service(numbers, system.query_url, views, sample)
    finally:
        await client.close()
    paid = await audit.hot_totals(event_store, load.hot_orders)
    payments = Counter(
        s.data["order_id"] for s in load.sent if s.accepted and s.type == "ProcessPayment"
    )
    print(numbers.table(), flush=True)
    print(f"  failed attempts by kind: {dict(load.failure_kinds())}")
    print(f"  query-service answers during the run: {dict(read_outcomes)}")
    hot_updates = sum(
        s.accepted and s.data.get("user_id") in load.hot_users and s.type == "UpdateUser"
        for s in load.sent
    )
    hot_payments = sum(payments[order_id] for order_id in load.hot_orders)
    print(
        f"  hot aggregates: {hot_updates} updates of {len(load.hot_users)} users, "
        f"{hot_payments} payments on {len(load.hot_orders)} orders (paid "
        f"{', '.join(str(v) for v in paid.values())})",
        flush=True,
    )

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
    assert numbers.stale_answers == 0
    assert numbers.retried > 0, "no kill was felt by the client: the scenario did not bite"
    for order_id in load.hot_orders:
        assert paid[order_id] == Decimal(PAYMENT) * payments[order_id], order_id
