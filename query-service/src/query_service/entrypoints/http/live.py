"""GET /ws: live changes. Every replica listens on Redis, so a client connected to any
replica sees every change, whichever projector replica made it.

Channels a client may ask for: a read model type ("OrderReadModel"), one document
("OrderReadModel:<id>"), or the event feed ("events"); in the URL
(`/ws?subscribe=UserReadModel,events`) or later as
`{"action": "subscribe" | "unsubscribe", "channels": [...]}`."""

import asyncio
import contextlib
from typing import Any

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromQuery

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import READER
from query_service.bootstrap import Container


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
    return (
        ch.document_channel(prefix, model, doc_id)
        if doc_id
        else ch.read_model_channel(prefix, model)
    )


class LiveSession:
    """One WebSocket's subscriptions: one Litestar subscriber per subscribe request."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], plugin: ChannelsPlugin, prefix: str
    ) -> None:
        self._socket = socket
        self._plugin = plugin
        self._prefix = prefix
        self._subscribers: dict[str, Subscriber] = {}
        self._pumps: set[asyncio.Task[None]] = set()

    async def _pump(self, subscriber: Subscriber) -> None:
        async for message in subscriber.iter_events():
            await self._socket.send_text(message.decode())

    async def subscribe(self, names: list[str]) -> list[str]:
        wanted = {n: redis_channel(self._prefix, n) for n in names if n not in self._subscribers}
        if wanted:
            subscriber = await self._plugin.subscribe(list(wanted.values()))
            pump = asyncio.create_task(self._pump(subscriber))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)
            self._subscribers.update(dict.fromkeys(wanted, subscriber))
        return sorted(self._subscribers)

    async def unsubscribe(self, names: list[str]) -> list[str]:
        for name in names:
            subscriber = self._subscribers.pop(name, None)
            if subscriber is not None:
                await self._plugin.unsubscribe(subscriber, redis_channel(self._prefix, name))
        return sorted(self._subscribers)

    async def close(self) -> None:
        for subscriber in set(self._subscribers.values()):
            with contextlib.suppress(Exception):
                await self._plugin.unsubscribe(subscriber)
        self._subscribers.clear()
        for pump in list(self._pumps):
            pump.cancel()


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
            await _handle(
                session, socket, {"action": "subscribe", "channels": subscribe.split(",")}
            )
        while True:
            await _handle(session, socket, await socket.receive_json())
    except WebSocketDisconnect:
        pass
    finally:
        container.live_clients -= 1
        await session.close()


async def _handle(session: LiveSession, socket: WebSocket[Any, Any, Any], message: Any) -> None:
    action = message.get("action") if isinstance(message, dict) else None
    names = message.get("channels") if isinstance(message, dict) else None
    if action not in ("subscribe", "unsubscribe") or not isinstance(names, list):
        await socket.send_json(
            {"type": "error", "error": 'send {"action": "subscribe", "channels": [...]}'}
        )
        return
    try:
        current = await (session.subscribe if action == "subscribe" else session.unsubscribe)(
            [str(n) for n in names]
        )
    except UnknownChannelError as bad:
        await socket.send_json({"type": "error", "error": str(bad)})
        return
    await socket.send_json({"type": "subscribed", "channels": current})
