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
  the client is told with {"type": "notice", ...}).

Bounds (`websocket` in config.yaml), so one client cannot exhaust a replica: at most
`max_channels` subscriptions per connection (more: an error frame, nothing subscribed), a
client frame over `max_frame_bytes` closes the connection (1009), at most
`max_connections_per_client` connections per client address on a replica (1008), a
`{"type": "ping"}` frame every `ping_interval` of silence, and a frame the client does not
take within `send_timeout` closes it (1008). What a disconnect costs is bounded by them.
With auth on, the token comes in the Authorization header or, from a browser, as the
subprotocol pair `bearer, <token>` (`cqrs_http.ws_token`)."""

import asyncio
import contextlib
import json
import time
from collections import Counter
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
from cqrs_contracts.settings import WebSocketSettings
from cqrs_http.auth import READER
from cqrs_http.limits import trusted_proxies
from cqrs_http.telemetry import span_under
from cqrs_http.ws_token import accepted_subprotocol
from query_service.adapters.metrics import WS_CLIENTS, WS_DROPPED, WS_FRAMES_SENT
from query_service.bootstrap import Container

BACKLOG = 1000
DEFAULT_CHANNELS = tuple(READ_MODELS)


class UnknownChannelError(ValueError):
    pass


class TooManyChannelsError(ValueError):
    pass


# per app (one per replica): open connections per client address
CONNECTIONS = "ws_connections"


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
        self,
        socket: WebSocket[Any, Any, Any],
        plugin: ChannelsPlugin,
        prefix: str,
        limits: WebSocketSettings,
    ) -> None:
        self._socket = socket
        self._plugin = plugin
        self._prefix = prefix
        self._limits = limits
        self._subscribers: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
        self._last_sent = time.monotonic()
        self.defaulted = False

    async def send(self, text: str) -> None:
        """One frame; a client that does not take it within `send_timeout` is closed."""
        try:
            async with asyncio.timeout(self._limits.send_timeout):
                await self._socket.send_text(text)
        except TimeoutError:
            WS_DROPPED["send_timeout"].inc()
            with contextlib.suppress(Exception):
                await self._socket.close(code=1008, reason="frames not read in time")
            raise
        WS_FRAMES_SENT.inc()
        self._last_sent = time.monotonic()

    async def heartbeat(self) -> None:
        """A ping frame after `ping_interval` of silence: a gone client fails its send."""
        interval = self._limits.ping_interval
        while True:
            await asyncio.sleep(max(interval - (time.monotonic() - self._last_sent), 0.05))
            if time.monotonic() - self._last_sent >= interval:
                await self.send('{"type": "ping"}')

    async def _pump(self, name: str, subscriber: Subscriber) -> None:
        async for message in subscriber.iter_events():
            if subscriber.qsize >= BACKLOG - 1:
                WS_DROPPED["backlog"].inc()
                notice = {
                    "type": "notice",
                    "channel": name,
                    "message": "backlog full: older changes dropped",
                }
                await self.send(json.dumps(notice))
            text, traceparent = frame(name, message)
            with span_under("websocket.push", traceparent, SpanKind.PRODUCER) as span:
                span.set_attribute("cqrs.channel", name)
                await self.send(text)

    async def subscribe(self, names: list[str]) -> list[str]:
        most = self._limits.max_channels
        if len(set(names) | set(self._subscribers)) > most:
            raise TooManyChannelsError(f"at most {most} channels per connection")
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
    settings = container.settings
    limits = settings.websocket
    await socket.accept(subprotocols=accepted_subprotocol(socket.scope))
    proxies = trusted_proxies(tuple(settings.security.trusted_proxies))
    address = proxies.client_address(socket.scope)
    open_here: Counter[str] = socket.app.state.setdefault(CONNECTIONS, Counter())
    if open_here[address] >= limits.max_connections_per_client:
        await socket.close(code=1008, reason="too many connections from this address")
        return
    open_here[address] += 1
    session = LiveSession(socket, channels, settings.redis.prefix, limits)
    heartbeat = asyncio.create_task(session.heartbeat(), name="ws-heartbeat")
    container.live_clients += 1
    WS_CLIENTS.inc()
    try:
        if subscribe:
            await _handle(session, socket, {"op": "subscribe", "channels": subscribe.split(",")})
        else:
            await session.subscribe(list(DEFAULT_CHANNELS))
            session.defaulted = True
        while True:
            raw = await socket.receive_text()
            if _too_big(raw, limits.max_frame_bytes):
                reason = f"frames are at most {limits.max_frame_bytes} bytes"
                await socket.close(code=1009, reason=reason)
                break
            try:
                message = json.loads(raw)
            except ValueError:
                await socket.send_json({"type": "error", "error": "frames must be JSON"})
                continue
            await _handle(session, socket, message)
    except (WebSocketDisconnect, TimeoutError):
        pass
    finally:
        heartbeat.cancel()
        container.live_clients -= 1
        WS_CLIENTS.dec()
        open_here[address] -= 1
        if open_here[address] <= 0:
            del open_here[address]
        await session.close()


def _too_big(frame_text: str, limit: int) -> bool:
    # a character is 1 to 4 bytes: encode only when the length alone cannot tell
    return len(frame_text) > limit or (
        len(frame_text) * 4 > limit and len(frame_text.encode()) > limit
    )


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
    except (UnknownChannelError, TooManyChannelsError) as bad:
        await socket.send_json({"type": "error", "error": str(bad)})
        return
    await socket.send_json({"type": "ack", "op": op, "channels": current})
