"""One client cannot exhaust a query replica through /ws: subscriptions, frame size and
connections per address are bounded (`websocket` in config.yaml), and a connection it
leaves costs nothing after it is gone."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from tests.support.polling import eventually

Factory = Callable[..., AbstractAsyncContextManager[AsyncTestClient]]


async def test_more_channels_than_allowed_subscribe_nothing(query_client_with: Factory) -> None:
    async with query_client_with(CQRS__WEBSOCKET__MAX_CHANNELS="3") as client:
        with await client.websocket_connect("/ws?subscribe=UserReadModel") as ws:
            assert ws.receive_json(timeout=5)["channels"] == ["UserReadModel"]
            many = [f"UserReadModel:u-{i}" for i in range(20_000)]
            ws.send_json({"op": "subscribe", "channels": many[:3]})
            error = ws.receive_json(timeout=5)
            assert error == {"type": "error", "error": "at most 3 channels per connection"}
            ws.send_json({"op": "subscribe", "channels": ["OrderReadModel", "events"]})
            assert ws.receive_json(timeout=5)["channels"] == [
                "OrderReadModel",
                "UserReadModel",
                "events",
            ]


async def test_twenty_thousand_channels_in_one_frame_are_refused_at_once(
    queries: AsyncTestClient,
) -> None:
    """The reported attack (20,000 document channels in one frame, under the frame bound's
    default only because the ids are short): an error frame, nothing subscribed."""
    with await queries.websocket_connect("/ws?subscribe=events") as ws:
        ws.receive_json(timeout=5)
        names = [f"U:{i}" for i in range(20_000)]
        ws.send_json({"op": "subscribe", "channels": names[:5000]})
        assert ws.receive_json(timeout=5) == {
            "type": "error",
            "error": "at most 100 channels per connection",
        }
        ws.send_json({"op": "unsubscribe", "channels": []})
        assert ws.receive_json(timeout=5) == {
            "type": "ack",
            "op": "unsubscribe",
            "channels": ["events"],
        }


async def test_a_frame_over_the_bound_closes_with_1009(query_client_with: Factory) -> None:
    async with query_client_with(CQRS__WEBSOCKET__MAX_FRAME_BYTES="1024") as client:
        with await client.websocket_connect("/ws?subscribe=events") as ws:
            ws.receive_json(timeout=5)
            ws.send_text('{"op": "ping", "pad": "' + "x" * 2000 + '"}')
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json(timeout=5)
            assert closed.value.code == 1009


async def test_connections_per_client_address_are_bounded(query_client_with: Factory) -> None:
    async with query_client_with(CQRS__WEBSOCKET__MAX_CONNECTIONS_PER_CLIENT="2") as client:
        with (
            await client.websocket_connect("/ws?subscribe=events") as first,
            await client.websocket_connect("/ws?subscribe=events") as second,
        ):
            first.receive_json(timeout=5)
            second.receive_json(timeout=5)
            with await client.websocket_connect("/ws?subscribe=events") as third:
                with pytest.raises(WebSocketDisconnect) as closed:
                    third.receive_json(timeout=5)
                assert closed.value.code == 1008
        # the two are gone: their address may connect again
        with await client.websocket_connect("/ws?subscribe=events") as again:
            assert again.receive_json(timeout=5)["type"] == "ack"


async def test_a_silent_connection_is_pinged(query_client_with: Factory) -> None:
    async with query_client_with(CQRS__WEBSOCKET__PING_INTERVAL="0.3s") as client:
        with await client.websocket_connect("/ws?subscribe=events") as ws:
            ws.receive_json(timeout=5)
            assert ws.receive_json(timeout=5) == {"type": "ping"}


async def test_a_connection_that_subscribed_and_left_leaves_nothing_behind(
    query_client_with: Factory,
) -> None:
    async with query_client_with() as client:
        container = client.app.dependencies["container"].dependency()
        with await client.websocket_connect("/ws") as ws:
            ws.send_json(
                {"op": "subscribe", "channels": [f"UserReadModel:u-{i}" for i in range(100)]}
            )
            assert len(ws.receive_json(timeout=5)["channels"]) == 100

        async def clients() -> int:
            return int(container.live_clients)

        await eventually(clients, timeout=5, accept=lambda n: n == 0, what="no live clients")
        assert dict(client.app.state.get("ws_connections", {})) == {}
