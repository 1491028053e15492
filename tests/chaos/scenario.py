"""What every kill scenario shares: a clock that says how the load is doing, a steady
reader through the query-service, and the wait (bounded) until the system has settled
after the load: every shard's outbox empty, no projector lag, read models equal to a
replay of every shard."""

import asyncio
import random
import time
from collections import Counter

import httpx

from projector.application.consistency import check
from tests.chaos import audit
from tests.chaos.load import CommandLoad
from tests.chaos.private_infra import PrivateInfra
from tests.chaos.system import Namespace, System
from tests.support.polling import eventually

SETTLE_WITHIN = 120.0  # after the load: outbox empty and read models converged by then
QUERIES = "/api/v1/cqrs/queries"
PROJECTIONS = "/api/v1/cqrs/projections"


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, load: CommandLoad, what: str) -> None:
        accepted = sum(s.accepted for s in load.sent)
        print(
            f"[chaos {time.monotonic() - self.started:6.1f}s] {what:<34} "
            f"sent {len(load.sent):5}  accepted {accepted:5}  in flight {load.in_flight:4}",
            flush=True,
        )

    def note(self, what: str) -> None:
        print(f"[chaos {time.monotonic() - self.started:6.1f}s] {what}", flush=True)


async def read_steadily(url: str, load: CommandLoad, stop: asyncio.Event) -> Counter[str]:
    """GetUser of known users through the query-service, ten a second: what it answered."""
    outcomes: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            if load.users:
                body = {"type": "GetUser", "data": {"id": random.choice(load.users)}}
                try:
                    outcomes[str((await client.post(QUERIES, json=body)).status_code)] += 1
                except httpx.TransportError as failure:
                    outcomes[type(failure).__name__] += 1
            await asyncio.sleep(0.1)
    return outcomes


async def settled(
    store: audit.Engines,
    namespace: Namespace,
    infra: PrivateInfra,
    system: System,
    clock: Clock,
) -> None:
    """Wait (bounded: failing after SETTLE_WITHIN) until every shard's outbox is empty,
    the projector has no lag and the read models equal a replay of the event store."""
    client, views = audit.read_store(infra.endpoints.mongodb_uri, namespace.read_database)
    replay = audit.revealing_reader(store, system.settings.privacy)
    try:
        async with httpx.AsyncClient(base_url=system["projector"].url, timeout=10) as admin:

            async def consistent() -> bool:
                left = await audit.outbox_left(store)
                status = (await admin.get(PROJECTIONS)).json()
                lag = max(p["lag"] for p in status["projections"].values())
                if any(left) or lag != 0:
                    clock.note(
                        f"outbox {left}, projector lag {lag}, "
                        f"dead-lettered {status['dead_lettered']}"
                    )
                    return False
                report = await check(views, replay)
                if not report.consistent:
                    clock.note(
                        f"read models differ: {len(report.missing)} missing, "
                        f"{len(report.extra)} extra, {len(report.different)} different"
                    )
                    for said in audit.differences(report):
                        clock.note(f"  {said}")
                return report.consistent

            await eventually(
                consistent,
                timeout=SETTLE_WITHIN,
                interval=2,
                what="an empty outbox, no lag and read models equal to a replay",
            )
    finally:
        await client.close()
