"""GET /ws: live changes. Every replica listens on Redis (Litestar channels, Redis
backend), so a client connected to any replica sees every change, whichever projector
replica made it.

Protocol (JSON frames):
- a client that sends nothing gets every change of every read model (as the original
  service's JavaScript example expects); `?subscribe=A,B` or a first subscribe narrows it;
- {"op": "subscribe" | "unsubscribe", "channels": [...]} -> {"type": "ack", ...}; a channel
  is a read model type ("OrderReadModel"), one document ("OrderReadModel:<id>"), or the
  event feed ("events");
- {"op": "ping"} -> {"type": "pong"};
- a change: {"channel", "read_model", "id", "version", "position", "data"}; an event on
  the feed: {"channel": "events", "event": {...}};
- a bad frame gets {"type": "error", "error": ...}; the connection stays open;
- a slow client keeps at most BACKLOG changes per channel (the oldest are dropped, and
  the client is told with {"type": "notice", ...})."""

import asyncio
import contextlib
import json
from typing import Any

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromQuery
from opentelemetry.trace import SpanKind

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import READER
from cqrs_http.telemetry import span_under
from query_service.bootstrap import Container

BACKLOG = 1000
DEFAULT_CHANNELS = tuple(READ_MODELS)


class UnknownChannelError(ValueError):
    pass


def redis_channel(prefix: str, name: str) -> str:
    if name == "events":
        return ch.events_channel(prefix)
    model, _, doc_id = name.partition(":")
    if model not in READ_MODELS:
        raise UnknownChannelError(
            f"unknown channel {name!r}: use a read model type, Type:<id> or events"
        )
    if doc_id:
        return ch.document_channel(prefix, model, doc_id)
    return ch.read_model_channel(prefix, model)


def frame(channel: str, message: bytes) -> tuple[str, str | None]:
    """The frame for the client, and the trace the change belongs to."""
    body = json.loads(message)
    if channel == "events":
        traceparent = (body.get("metadata") or {}).get("traceparent")
        return json.dumps({"channel": channel, "event": body}), traceparent
    return json.dumps({"channel": channel, **body}), body.get("traceparent")


class LiveSession:
    """One WebSocket's subscriptions: a Litestar subscriber and a pump per channel."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], plugin: ChannelsPlugin, prefix: str
    ) -> None:
        self._socket = socket
        self._plugin = plugin
        self._prefix = prefix
        self._subscribers: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
        self.defaulted = False

    async def _pump(self, name: str, subscriber: Subscriber) -> None:
        async for message in subscriber.iter_events():
            if subscriber.qsize >= BACKLOG - 1:
                await self._socket.send_json(
                    {
                        "type": "notice",
                        "channel": name,
                        "message": "backlog full: older changes dropped",
                    }
                )
            text, traceparent = frame(name, message)
            with span_under("websocket.push", traceparent, SpanKind.PRODUCER) as span:
                span.set_attribute("cqrs.channel", name)
                await self._socket.send_text(text)

    async def subscribe(self, names: list[str]) -> list[str]:
        wanted = {n: redis_channel(self._prefix, n) for n in names}  # validate all first
        for name, channel in wanted.items():
            if name not in self._subscribers:
                subscriber = await self._plugin.subscribe([channel])
                pump = asyncio.create_task(self._pump(name, subscriber))
                self._subscribers[name] = (subscriber, pump)
        return sorted(self._subscribers)

    async def unsubscribe(self, names: list[str]) -> list[str]:
        for name in names:
            held = self._subscribers.pop(name, None)
            if held is not None:
                subscriber, pump = held
                await self._plugin.unsubscribe(subscriber)
                pump.cancel()
        return sorted(self._subscribers)

    async def narrow(self) -> None:
        """Drop the connect-time feed of everything once the client says what it wants."""
        if self.defaulted:
            self.defaulted = False
            await self.unsubscribe(list(DEFAULT_CHANNELS))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.unsubscribe(list(self._subscribers))


@websocket("/ws", guards=[READER])
async def live_updates(
    socket: WebSocket[Any, Any, Any],
    channels: NamedDependency[ChannelsPlugin],
    container: NamedDependency[Container],
    subscribe: FromQuery[str | None] = None,
) -> None:
    await socket.accept()
    session = LiveSession(socket, channels, container.settings.redis.prefix)
    container.live_clients += 1
    try:
        if subscribe:
            await _handle(session, socket, {"op": "subscribe", "channels": subscribe.split(",")})
        else:
            await session.subscribe(list(DEFAULT_CHANNELS))
            session.defaulted = True
        while True:
            raw = await socket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                await socket.send_json({"type": "error", "error": "frames must be JSON"})
                continue
            await _handle(session, socket, message)
    except WebSocketDisconnect:
        pass
    finally:
        container.live_clients -= 1
        await session.close()


async def _handle(session: LiveSession, socket: WebSocket[Any, Any, Any], message: Any) -> None:
    body = message if isinstance(message, dict) else {}
    op = body.get("op", body.get("action"))
    if op == "ping":
        await socket.send_json({"type": "pong"})
        return
    names = body.get("channels")
    if op not in ("subscribe", "unsubscribe") or not isinstance(names, list):
        await socket.send_json(
            {
                "type": "error",
                "error": 'send {"op": "subscribe", "channels": [...]} or {"op": "ping"}',
            }
        )
        return
    try:
        if op == "subscribe":
            await session.narrow()
            current = await session.subscribe([str(n) for n in names])
        else:
            current = await session.unsubscribe([str(n) for n in names])
    except UnknownChannelError as bad:
        await socket.send_json({"type": "error", "error": str(bad)})
        return
    await socket.send_json({"type": "ack", "op": op, "channels": current})
