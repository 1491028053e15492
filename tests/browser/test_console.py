"""The console against the real system (auth on): what the API does shows on its pages,
and what the page does reaches the API."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from playwright.async_api import expect

from tests.browser.conftest import OpenConsole, command, screenshot
from tests.support.polling import eventually
from tests.support.services import Endpoints
from tests.support.system import System

COMMANDS = "/api/v1/cqrs/commands"
DLQ = "/api/v1/cqrs/projections/dlq"


def email() -> str:
    return f"{uuid.uuid4().hex}@example.com"


async def send(api: httpx.AsyncClient, type_: str, **data: Any) -> dict[str, Any]:
    response = await api.post(COMMANDS, json=command(type_, **data))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_command_shows_in_the_live_feed_and_the_inspector(
    open_console: OpenConsole, api: httpx.AsyncClient
) -> None:
    page = await open_console("admin", at="#feed")
    await expect(page.locator("#feed-status")).to_contain_text("subscribed: events")

    created = await send(api, "CreateUser", name="Grace Hopper", email=email(), age=85)
    uid = created["aggregate_id"]
    await send(api, "UpdateUser", user_id=uid, name="Grace B. Hopper")

    rows = page.locator(f"#feed-list tr[data-key='{uid}']")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("UserUpdated")
    await page.fill("#feed-aggregate", uid)
    await expect(page.locator("#feed-list tbody tr")).to_have_count(2)
    await screenshot(page, "feed")

    await rows.last.click()
    await expect(page).to_have_url(f"{page.url.split('#')[0]}#inspector/{uid}")
    events = page.locator("#inspect-events tbody tr")
    await expect(events).to_have_count(2)
    await expect(events.first).to_contain_text("UserCreated")
    await expect(events.last).to_contain_text("UserUpdated")
    user = page.locator("#inspect-models .read-model[data-type=UserReadModel]")
    await expect(user).to_contain_text("Grace B. Hopper")
    commands = page.locator("#inspect-commands tbody tr")
    await expect(commands).to_have_count(2)
    await expect(
        page.locator(f"#inspect-commands tr[data-key='{created['command_id']}']")
    ).to_contain_text("CreateUser")
    await screenshot(page, "inspector")


async def test_a_poison_event_shows_in_dead_letters_and_is_redriven_from_the_page(
    open_console: OpenConsole,
    api: httpx.AsyncClient,
    console_system: System,
    endpoints: Endpoints,
) -> None:
    stream, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    no_email = {  # breaks the UserCreated contract: the projector gives up on it
        "event_id": event_id,
        "stream_type": "user",
        "stream_id": stream,
        "version": 1,
        "type": "UserCreated",
        "schema_version": 2,
        "data": {"user_id": stream, "name": "Poison", "created_at": now},
        "occurred_at": now,
    }
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_brokers)
    await producer.start()
    try:
        await producer.send_and_wait(
            console_system.env["KAFKA_TOPIC"],
            json.dumps(no_email).encode(),
            key=stream.encode(),
            headers=[("event-id", event_id.encode()), ("event-type", b"UserCreated")],
        )
    finally:
        await producer.stop()

    async def dead_letters() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await api.get(DLQ)).json()["items"]
        return [d for d in items if d["event_id"] == event_id]

    (first,) = await eventually(dead_letters, timeout=60, what="the poison in the dead letters")
    page = await open_console("admin", at="#dead-letters")
    await page.fill("#dlq-stream", stream)
    await page.click("#dlq-filters button.primary")
    row = page.locator(f"#dlq-projection tr[data-key='{first['ref']}']")
    await expect(row).to_contain_text("email")
    await row.locator("button[data-act=inspect-p]").click()
    await expect(page.locator("#dlq-detail")).to_contain_text(event_id)

    await row.locator("button[data-act=redrive-p]").click()

    result = page.locator("#dlq-result")
    await expect(result).to_contain_text(f"re-drove {first['ref']}")
    await expect(result).to_contain_text(event_id)
    # re-driven, it went through the projector once more and failed once more
    await eventually(
        dead_letters, timeout=60, what="the re-driven poison back", accept=lambda d: len(d) == 2
    )
    await page.click("#dlq-reload")
    await expect(page.locator("#dlq-projection tbody tr")).to_have_count(2)
    await page.locator("#dlq-projection button[data-act=redrive-p-stream]").first.click()
    await expect(result).to_contain_text(f"re-drove stream {stream}")
    await expect(result).to_contain_text(first["ref"])
    await screenshot(page, "dead-letters")


async def test_a_rebuild_started_from_the_page_completes_with_its_progress_shown(
    open_console: OpenConsole, api: httpx.AsyncClient
) -> None:
    for n in range(3):
        await send(api, "CreateUser", name=f"Rebuilt {n}", email=email(), age=30 + n)
    page = await open_console("admin", at="#projections")
    await expect(page.locator("#projection-status tbody tr")).to_have_count(5)

    await page.click("#rebuild-start")

    badge = page.locator("#rebuild-badge")
    await expect(badge.locator(".badge.running")).to_be_visible()
    await expect(page.locator("#rebuild-start")).to_be_disabled()
    await expect(badge.locator(".badge.succeeded")).to_be_visible(timeout=120_000)
    progress = page.locator("#rebuild-progress")
    total = int(await progress.get_attribute("max") or 0)
    assert total >= 3
    assert await progress.get_attribute("value") == str(total)
    await expect(badge).to_contain_text(f"{total} of {total} events (100%)")
    await expect(page.locator("#rebuild-start")).to_be_enabled()
    await screenshot(page, "rebuild")


async def test_a_reader_sees_no_admin_buttons(
    open_console: OpenConsole, api: httpx.AsyncClient
) -> None:
    await send(api, "CreateUser", name="Read Only", email=email(), age=50)
    page = await open_console("reader", at="#projections")
    await expect(page.locator("#who")).to_contain_text("console-reader (reader)")
    await expect(page.locator("#projection-status tbody tr")).to_have_count(5)

    for page_id in ("dead-letters", "handlers"):
        await expect(page.locator(f"#nav a[data-page={page_id}]")).to_be_hidden()
    await expect(page.locator("#rebuild-start")).to_be_hidden()
    await page.goto(page.url.split("#")[0] + "#dead-letters")  # typed in: not shown either
    await expect(page.locator("#page-dead-letters")).to_be_hidden()
    await expect(page.locator("#page-overview")).to_be_visible()
    buttons = page.locator("[data-needs=admin]")
    for n in range(await buttons.count()):
        await expect(buttons.nth(n)).to_be_hidden()
    await expect(page.locator("#health tbody tr")).to_have_count(4)
    await screenshot(page, "reader")


async def test_a_refused_token_is_asked_for_again(
    open_console: OpenConsole, chromium: Any, console_system: System
) -> None:
    page = await chromium.new_page()
    try:
        await page.goto(f"{console_system.gateway}/console/")
        await page.fill("#token-input", "not.a-real.token")
        await page.click("#token-submit")
        await expect(page.locator("#token-error")).to_contain_text("refused")
        await expect(page.locator("#token-dialog")).to_be_visible()
    finally:
        await page.close()


async def test_the_overview_charts_and_the_logs_page(
    open_console: OpenConsole, api: httpx.AsyncClient
) -> None:
    created = await send(api, "CreateUser", name="Charted", email=email(), age=40)
    query = await api.post(
        "/api/v1/cqrs/queries", json={"type": "GetUser", "data": {"id": created["aggregate_id"]}}
    )
    assert query.status_code in (200, 404), query.text
    page = await open_console("admin")
    await expect(page.locator("#health tbody tr")).to_have_count(4)
    await expect(page.locator("#failing")).to_contain_text("no instance failing")
    for chart in ("rates", "lag", "outbox"):  # drawn once a second poll gave a rate
        await expect(page.locator(f"#chart-{chart} polyline").first).to_be_attached()
    await expect(page.locator("#chart-rates .legend [data-series=commands]")).to_be_visible()
    await expect(page.locator("#chart-lag .legend span")).to_have_count(3)
    await screenshot(page, "overview")

    await page.click("#nav a[data-page=commands]")
    await page.fill("#cmdlog-filters input[name=type]", "CreateUser")
    await page.click("#cmdlog-filters button.primary")
    row = page.locator(f"#cmdlog-rows tr[data-key='{created['command_id']}']")
    await expect(row).to_contain_text("accepted")
    await row.click()
    await expect(page.locator("#cmdlog-detail")).to_contain_text(created["aggregate_id"])

    await page.click("#nav a[data-page=queries]")
    await page.fill("#qlog-filters input[name=type]", "GetUser")
    await page.click("#qlog-filters button.primary")
    await expect(page.locator("#qlog-rows tbody tr").first).to_contain_text("GetUser")
    await screenshot(page, "query-log")


async def test_a_command_type_is_registered_and_disabled_from_the_page(
    open_console: OpenConsole, api: httpx.AsyncClient
) -> None:
    page = await open_console("admin", at="#handlers")
    name = f"Open{uuid.uuid4().hex[:8]}"
    form = page.locator("#handlers-commands form.register")
    await page.locator("#handlers-commands summary").click()
    body = {
        "name": name,
        "stream_type": "ticket",
        "id_field": "ticket_id",
        "event_type": f"{name}ed",
        "schema": {
            "type": "object",
            "required": ["ticket_id"],
            "properties": {"ticket_id": {"type": "string"}},
        },
    }
    await form.locator("textarea").fill(json.dumps(body))
    await form.locator("button").click()
    await expect(page.locator("#handlers-result")).to_contain_text("registered command type")
    row = page.locator(f"#handlers-commands tr[data-key='{name}']")
    await expect(row).to_contain_text("declared")
    listed = (await api.get("/api/v1/cqrs/handlers/commands")).json()["items"]
    assert name in [h["name"] for h in listed]

    await page.locator(
        "#handlers-commands tr[data-key=CancelOrder] button[data-act=disable]"
    ).click()
    await expect(page.locator("#handlers-commands tr[data-key=CancelOrder]")).to_contain_text(
        "disabled"
    )
    await page.locator(
        "#handlers-commands tr[data-key=CancelOrder] button[data-act=enable]"
    ).click()
    await expect(page.locator("#handlers-commands tr[data-key=CancelOrder]")).to_contain_text(
        "enabled"
    )
    await row.locator("button[data-act=disable]").click()
    await expect(row).to_have_count(0)
    await screenshot(page, "handlers")
