"""Each service's /metrics under load: commands (accepted, rejected, replayed), events
appended and relayed, the outbox gauges; events projected and their latency, the group's
lag per partition, a dead letter; queries by type and outcome, a cache hit, a
consistency wait, a WebSocket client and its frames. Scraped before and after, the named
series change by what was done (the projector's by at least it: it runs on its own)."""

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.projector.test_dead_letters import publish
from tests.integration.query_service.helpers import ask, new_user
from tests.integration.query_service.test_websocket import about, ack, next_matching
from tests.support.metrics import Series, scrape
from tests.support.polling import eventually
from tests.support.services import Endpoints

COMMANDS = "/api/v1/cqrs/commands"


async def test_command_metrics_count_outcomes_events_and_the_relay(
    commands: AsyncTestClient,
) -> None:
    before = await scrape(commands)
    for _ in range(2):
        await new_user(commands)
    unknown = await commands.post(COMMANDS, json={"type": f"Nope{uuid.uuid4().hex[:6]}"})
    assert unknown.status_code == 400
    key = {"Idempotency-Key": uuid.uuid4().hex}
    data = {"name": "Ida", "email": f"m{uuid.uuid4().hex[:12]}@example.com", "age": 30}
    once = {"type": "CreateUser", "data": data}
    first = await commands.post(COMMANDS, json=once, headers=key)
    again = await commands.post(COMMANDS, json=once, headers=key)
    assert (first.status_code, again.status_code) == (200, 200), first.text
    after = await scrape(commands)

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("cqrs_commands_total", type="CreateUser", outcome="accepted") == 3
    assert delta("cqrs_commands_total", type="CreateUser", outcome="replayed") == 1
    assert delta("cqrs_commands_total", type="other", outcome="rejected") == 1
    assert delta("cqrs_idempotent_replays_total") == 1
    assert delta("cqrs_events_appended_total", type="UserCreated") == 3
    assert delta("cqrs_command_duration_seconds_count", type="CreateUser") == 4
    assert delta("cqrs_command_duration_seconds_count", type="other") == 1
    assert after.has("cqrs_outbox_backlog")
    assert after.has("cqrs_relay_lag_seconds")

    async def relayed() -> Series:
        return await scrape(commands)

    await eventually(
        relayed,
        timeout=10,
        what="the relay publishing the three events",
        accept=lambda s: (
            s.value("cqrs_relay_published_total") >= before.value("cqrs_relay_published_total") + 3
        ),
    )


async def test_projector_metrics_count_projections_lag_and_dead_letters(
    commands: AsyncTestClient,
    projector_admin: AsyncTestClient,
    endpoints: Endpoints,
    kafka_topics: dict[str, str],
) -> None:
    before = await scrape(projector_admin)
    assert {"0", "1", "2"} <= before.labels_of("cqrs_consumer_lag", "partition")
    assert before.value("cqrs_rebuild_running") == 0
    for _ in range(3):
        await new_user(commands)
    poison = uuid.uuid4().hex
    await publish(endpoints.kafka_brokers, kafka_topics["events"], poison, b"not json", {})

    def grown(s: Series) -> bool:
        return (
            s.value("cqrs_events_projected_total", read_model="UserReadModel")
            >= before.value("cqrs_events_projected_total", read_model="UserReadModel") + 3
            and s.value("cqrs_projection_latency_seconds_count")
            >= before.value("cqrs_projection_latency_seconds_count") + 3
            and s.value("cqrs_dead_letters", source="projection")
            >= before.value("cqrs_dead_letters", source="projection") + 1
        )

    after = await eventually(
        lambda: scrape(projector_admin),
        timeout=20,
        what="three users projected and a dead letter",
        accept=grown,
    )
    assert after.has("cqrs_dead_letters", source="webhooks")


async def test_query_metrics_count_types_outcomes_cache_waits_and_websockets(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    stats_before = (await queries.get("/api/v1/cqrs/stats")).json()["queries"]
    before = await scrape(queries)
    with await queries.websocket_connect("/ws?subscribe=UserReadModel") as ws:
        assert ack(ws)["type"] == "ack"
        during = await scrape(queries)
        uid, token = await new_user(commands)
        next_matching(ws, about(uid))
        waited = await ask(queries, "GetUser", {"id": uid}, token)  # a miss, then cached
        cached = await ask(queries, "GetUser", {"id": uid})
        missing = await ask(queries, "GetUser", {"id": str(uuid.uuid4())})
        odd = await ask(queries, f"Nope{uuid.uuid4().hex[:6]}")
    assert [r.status_code for r in (waited, cached, missing, odd)] == [200, 200, 404, 400]
    assert cached.json()["from_cache"] is True
    after = await scrape(queries)
    stats_after = (await queries.get("/api/v1/cqrs/stats")).json()["queries"]

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("cqrs_queries_total", type="GetUser", outcome="ok") == 2
    assert delta("cqrs_queries_total", type="GetUser", outcome="not_found") == 1
    assert delta("cqrs_queries_total", type="other", outcome="rejected") == 1
    assert delta("cqrs_query_duration_seconds_count", type="GetUser") == 3
    assert delta("cqrs_cache_lookups_total", result="hit") == 1
    assert delta("cqrs_cache_lookups_total", result="miss") == 2
    assert delta("cqrs_consistency_waits_total", outcome="reached") == 1
    assert during.value("cqrs_ws_clients") == before.value("cqrs_ws_clients") + 1
    assert delta("cqrs_ws_frames_sent_total") >= 1
    assert after.value("cqrs_ws_clients") == before.value("cqrs_ws_clients")

    def counted(stats: dict[str, Any], kind: str, outcome: str) -> int:
        return int(stats["by_type"].get(kind, {}).get(outcome, 0))

    assert counted(stats_after, "GetUser", "ok") == counted(stats_before, "GetUser", "ok") + 2
    assert (
        counted(stats_after, "other", "rejected") == counted(stats_before, "other", "rejected") + 1
    )
    assert stats_after["total"] == stats_before["total"] + 4
