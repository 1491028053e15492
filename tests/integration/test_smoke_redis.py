"""redis-py asyncio round trip: set/get and pub/sub against the real Redis."""

import asyncio

from redis.asyncio import Redis


async def test_set_get(redis_client: Redis, run_id: str) -> None:
    key = f"test:{run_id}:greeting"
    await redis_client.set(key, "hello", ex=60)
    assert await redis_client.get(key) == "hello"
    assert 0 < await redis_client.ttl(key) <= 60


async def test_publish_reaches_subscriber(redis_client: Redis, run_id: str) -> None:
    channel = f"test:{run_id}:updates"
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    receivers = await redis_client.publish(channel, "changed")
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
    await pubsub.aclose()
    assert receivers == 1
    assert message is not None
    assert message["data"] == "changed"


async def test_second_connection_sees_publish(redis_client: Redis, run_id: str) -> None:
    channel = f"test:{run_id}:fanout"
    listener = redis_client.pubsub()
    await listener.subscribe(channel)
    await listener.get_message(timeout=1)
    publisher = Redis(connection_pool=redis_client.connection_pool)
    await publisher.publish(channel, "one")
    message = await asyncio.wait_for(
        listener.get_message(ignore_subscribe_messages=True, timeout=5), 6
    )
    await listener.aclose()
    assert message is not None
    assert message["data"] == "one"
