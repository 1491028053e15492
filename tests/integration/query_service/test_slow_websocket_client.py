"""A /ws client that stops reading: the server keeps at most BACKLOG changes per channel
for it (the oldest are dropped), tells it so with a notice, and does not grow.

Litestar's test client takes every frame into an unbounded queue, so it can never be
slow. The stalled client here is a plain ASGI conversation with the app whose sends wait
while the client is not reading, as a real server's send waits on a full socket."""

import asyncio
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from litestar.channels import ChannelsPlugin
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import ChangeNotification
from cqrs_contracts.settings import Settings
from query_service.entrypoints.http import app as app_module
from query_service.entrypoints.http import live
from tests.integration.query_service.helpers import tag

BACKLOG = 5  # instead of 1000, so the test publishes hundreds of changes, not thousands
PUBLISHED = 300
Frame = dict[str, Any]


class StalledClient:
    """One /ws connection through the app's ASGI callable, in the app's event loop.
    Frames reach `frames` only while `reading` is set; otherwise the server's send waits
    (and `stalled` tells that it does)."""

    def __init__(self, client: AsyncTestClient, query: str) -> None:
        self._client = client
        self._scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "scheme": "ws",
            "path": "/ws",
            "raw_path": b"/ws",
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
            "client": ("stalled-client", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self._connected = False
        self._call: Future[None] | None = None
        self.reading, self.stalled, self.closing = (threading.Event() for _ in range(3))
        self.reading.set()
        self.frames: queue.Queue[Frame] = queue.Queue()

    async def _receive(self) -> dict[str, Any]:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        while not self.closing.is_set():  # the client never sends a frame
            await asyncio.sleep(0.01)
        return {"type": "websocket.disconnect", "code": 1000}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] != "websocket.send":
            return
        while not self.reading.is_set():
            self.stalled.set()
            await asyncio.sleep(0.005)
        self.frames.put(json.loads(message.get("text") or message["bytes"]))

    def __enter__(self) -> "StalledClient":
        portal = self._client.blocking_portal
        self._call = portal.start_task_soon(
            self._client.app, self._scope, self._receive, self._send
        )
        return self

    def __exit__(self, *_: object) -> None:
        self.closing.set()
        self.reading.set()
        if self._call is not None:
            self._call.result(timeout=10)

    def next_frame(self, within: float = 10) -> Frame:
        return self.frames.get(timeout=within)


def change(doc_id: str, version: int) -> str:
    data = {"id": doc_id, "name": f"Change {version}"}
    note = ChangeNotification(
        read_model="UserReadModel", id=doc_id, version=version, position=version, data=data
    )
    return note.model_dump_json()


@pytest.fixture
def small_backlog(monkeypatch: pytest.MonkeyPatch) -> int:
    """Apps created from now on keep BACKLOG changes per channel and subscriber."""
    monkeypatch.setattr(live, "BACKLOG", BACKLOG)
    monkeypatch.setattr(app_module, "BACKLOG", BACKLOG)
    return BACKLOG


async def test_a_client_that_does_not_read_gets_the_newest_backlog_and_a_notice(
    small_backlog: int,
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]],
    redis_client: Redis,
    projector_settings: Settings,
) -> None:
    doc_id = f"slow-{tag()}"
    name = f"UserReadModel:{doc_id}"  # a channel only this test publishes to
    channel = ch.document_channel(projector_settings.redis.prefix, "UserReadModel", doc_id)
    async with query_client_with() as client:
        plugin = client.app.plugins.get(ChannelsPlugin)
        with (
            StalledClient(client, f"subscribe={name}") as slow,
            await client.websocket_connect(f"/ws?subscribe={name}") as fast,
        ):
            acked = {"type": "ack", "op": "subscribe", "channels": [name]}
            assert slow.next_frame() == acked
            assert fast.receive_json(timeout=5) == acked

            slow.reading.clear()
            await redis_client.publish(channel, change(doc_id, 1))
            assert await asyncio.to_thread(slow.stalled.wait, 10)  # stuck sending change 1
            async with redis_client.pipeline(transaction=False) as pipe:
                for version in range(2, PUBLISHED + 1):
                    pipe.publish(channel, change(doc_id, version))
                await pipe.execute()

            # a client that reads gets to the last change; the stalled one's backlog is
            # filled by then (each change is put into every subscriber's queue at once)
            while fast.receive_json(timeout=10).get("version") != PUBLISHED:
                pass
            # what the server holds per subscriber of the channel (Litestar keeps them in
            # ChannelsPlugin._channels): nothing for the reader, BACKLOG for the stalled one
            held = client.blocking_portal.call(
                lambda: sorted(s.qsize for s in plugin._channels[channel])
            )
            assert held == [0, BACKLOG], held
            assert slow.frames.empty()

            slow.reading.set()
            frames = [slow.next_frame()]
            while frames[-1].get("version") != PUBLISHED:
                frames.append(slow.next_frame())

    newest = list(range(PUBLISHED - BACKLOG + 1, PUBLISHED + 1))
    first, notice, *rest = frames
    assert first["version"] == 1  # the change the server was sending when the client stalled
    assert notice == {
        "type": "notice",
        "channel": name,
        "message": "backlog full: older changes dropped",
    }
    assert [f["version"] for f in rest] == newest  # the oldest were dropped
    assert all((f["channel"], f["id"]) == (name, doc_id) for f in [first, *rest])
    assert rest[-1]["data"] == {"id": doc_id, "name": f"Change {PUBLISHED}"}
    assert slow.frames.empty()
