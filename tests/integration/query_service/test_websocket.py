"""GET /ws: live change notifications and the event feed, per read model, per document,
subscribed in the URL or by message; and across replicas (two real query-services)."""

import asyncio
import json
import queue
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification
from tests.integration.query_service.helpers import (
    QUERIES,
    answer,
    new_user,
    send,
)
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess

Message = dict[str, Any]


def next_matching(
    ws: WebSocketTestSession, wanted: Callable[[Message], bool], within: float = 10
) -> Message:
    """The next message `wanted` accepts (others are skipped), within `within` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = ws.receive_json(timeout=left)
        except queue.Empty:
            break
        if wanted(message):
            return dict(message)
    raise AssertionError(f"no wanted message within {within}s")


def about(doc_id: str) -> Callable[[Message], bool]:
    return lambda m: m.get("id") == doc_id or m.get("event", {}).get("stream_id") == doc_id


def ack(ws: WebSocketTestSession) -> Message:
    return dict(ws.receive_json(timeout=5))


async def test_a_read_model_channel_gets_the_change(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    with await queries.websocket_connect("/ws?subscribe=UserReadModel") as ws:
        assert ack(ws) == {"type": "ack", "op": "subscribe", "channels": ["UserReadModel"]}
        uid, _ = await new_user(commands, name="Live Lena", age=29)
        note = ChangeNotification.model_validate(next_matching(ws, about(uid)))
    assert (note.read_model, note.id, note.version) == ("UserReadModel", uid, 1)
    assert note.position > 0
    assert note.data is not None
    assert (note.data["name"], note.data["age"]) == ("Live Lena", 29)


async def test_a_document_channel_gets_only_that_document(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    mine, t1 = await new_user(commands, name="Watched")
    other, t2 = await new_user(commands, name="Unwatched")
    await answer(queries, "GetUser", {"id": mine}, f"{t1},{t2}")  # both creations published
    with await queries.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "channels": [f"UserReadModel:{mine}"]})
        assert ack(ws) == {"type": "ack", "op": "subscribe", "channels": [f"UserReadModel:{mine}"]}

        _, token = await send(commands, "UpdateUser", user_id=other, age=55)
        await answer(queries, "GetUser", {"id": other}, token)  # published by now
        await send(commands, "UpdateUser", user_id=mine, age=44)
        first = ChangeNotification.model_validate(ws.receive_json(timeout=10))
        assert (first.id, first.version) == (mine, 2)
        assert first.data is not None
        assert first.data["age"] == 44

        # unsubscribed: its next change is not delivered; subscribed again: the one after is
        ws.send_json({"op": "unsubscribe", "channels": [f"UserReadModel:{mine}"]})
        assert ack(ws) == {"type": "ack", "op": "unsubscribe", "channels": []}
        _, token = await send(commands, "UpdateUser", user_id=mine, age=45)
        await answer(queries, "GetUser", {"id": mine}, token)
        ws.send_json({"op": "subscribe", "channels": [f"UserReadModel:{mine}"]})
        assert ack(ws)["channels"] == [f"UserReadModel:{mine}"]
        await send(commands, "UpdateUser", user_id=mine, age=46)
        again = ChangeNotification.model_validate(ws.receive_json(timeout=10))
        assert (again.id, again.version) == (mine, 4)


async def test_the_event_feed_gets_the_envelope(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    with await queries.websocket_connect("/ws?subscribe=events") as ws:
        assert ack(ws) == {"type": "ack", "op": "subscribe", "channels": ["events"]}
        uid, _ = await new_user(commands, name="Fed Fay")
        message = next_matching(ws, about(uid))
        assert message["channel"] == "events"
        envelope = EventEnvelope.model_validate(message["event"])
    assert (envelope.type, envelope.stream_type, envelope.stream_id, envelope.version) == (
        "UserCreated",
        "user",
        uid,
        1,
    )
    assert envelope.data["name"] == "Fed Fay"


async def test_unknown_channels_and_bad_messages_get_an_error(queries: AsyncTestClient) -> None:
    with await queries.websocket_connect("/ws?subscribe=NoSuchModel") as ws:
        error = ack(ws)
        assert error["type"] == "error"
        assert "NoSuchModel" in error["error"]
        for bad in (
            {"action": "subscribe", "channels": ["Users"]},
            {"action": "subscribe", "channels": "UserReadModel"},
            {"action": "explode", "channels": ["UserReadModel"]},
            ["UserReadModel"],
        ):
            ws.send_json(bad)
            assert ack(ws)["type"] == "error", bad
        # the connection is still usable
        ws.send_json({"op": "subscribe", "channels": ["OrderReadModel", "events"]})
        assert ack(ws) == {
            "type": "ack",
            "op": "subscribe",
            "channels": ["OrderReadModel", "events"],
        }


async def test_stats_count_websocket_clients(queries: AsyncTestClient) -> None:
    before = (await queries.get("/api/v1/cqrs/stats")).json()["websocket_clients"]
    with await queries.websocket_connect("/ws?subscribe=events") as ws:
        ack(ws)
        during = (await queries.get("/api/v1/cqrs/stats")).json()["websocket_clients"]
    assert during == before + 1

    async def released() -> bool:
        stats = (await queries.get("/api/v1/cqrs/stats")).json()
        return bool(stats["websocket_clients"] == before)

    assert await eventually(released, timeout=5, what="the connection to be released")


# --- across replicas ------------------------------------------------------------------------


@pytest.fixture
async def replicas(
    query_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[list[ServiceProcess]]:
    """Two real query-service processes on this run's read store and Redis prefix."""
    started = [ServiceProcess("query-service", query_env, tmp_path / f"qs-{n}.log") for n in (1, 2)]
    try:
        await asyncio.gather(*(p.start() for p in started))
        yield started
    finally:
        for process in started:
            process.stop()


async def test_every_replica_tells_its_clients(
    commands: AsyncTestClient, replicas: list[ServiceProcess]
) -> None:
    urls = [f"ws://127.0.0.1:{p.port}/ws?subscribe=UserReadModel,events" for p in replicas]
    async with websockets.connect(urls[0]) as one, websockets.connect(urls[1]) as two:
        for ws in (one, two):
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert hello == {
                "type": "ack",
                "op": "subscribe",
                "channels": ["UserReadModel", "events"],
            }
        uid, token = await new_user(commands, name="Everywhere Eve")

        async def seen(ws: websockets.ClientConnection) -> set[str]:
            kinds: set[str] = set()
            async with asyncio.timeout(10):
                while kinds != {"note", "event"}:
                    message = json.loads(await ws.recv())
                    if message.get("id") == uid:
                        kinds.add("note")
                    elif message.get("event", {}).get("stream_id") == uid:
                        kinds.add("event")
            return kinds

        assert list(await asyncio.gather(seen(one), seen(two))) == [{"note", "event"}] * 2

    async with httpx.AsyncClient() as http:
        for process in replicas:
            body = {"type": "GetUser", "data": {"id": uid}}
            response = await http.post(
                f"{process.url}{QUERIES}", json=body, headers={"X-Consistency-Token": token}
            )
            assert response.status_code == 200, response.text
            assert response.json()["result"]["name"] == "Everywhere Eve"


async def test_a_silent_client_gets_every_change_and_a_subscription_narrows_it(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    with await queries.websocket_connect("/ws") as ws:
        uid, _ = await new_user(commands, name="Default Dora")
        change = next_matching(ws, about(uid))
        assert (change["channel"], change["read_model"], change["version"]) in {
            ("UserReadModel", "UserReadModel", 1),
            ("UserOrderReadModel", "UserOrderReadModel", 1),
        }
        ws.send_json({"op": "subscribe", "channels": ["OrderReadModel"]})
        narrowed = next_matching(ws, lambda m: m.get("type") == "ack")
        assert narrowed == {"type": "ack", "op": "subscribe", "channels": ["OrderReadModel"]}


async def test_ping_and_bad_frames_keep_the_connection(queries: AsyncTestClient) -> None:
    with await queries.websocket_connect("/ws?subscribe=events") as ws:
        assert ack(ws)["type"] == "ack"
        ws.send_json({"op": "ping"})
        assert ack(ws) == {"type": "pong"}
        ws.send_text("not json")
        assert ack(ws)["type"] == "error"
        ws.send_json({"op": "ping"})
        assert ack(ws) == {"type": "pong"}
