"""Read path: queries/s through the query-service (cached GetUser, uncached GetUser, a
ListOrders page) against a bare Granian app serving the same JSON from Redis; both driven
by wrk with the same settings."""

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import httpx
from redis.asyncio import Redis

from tests.bench import wrk
from tests.bench.system import LOGS, BenchSystem
from tests.support.polling import eventually
from tests.support.processes import free_port


async def seed(command_url: str, query_url: str) -> tuple[str, str]:
    """A user with a few orders, visible in the read models; (user id, user JSON)."""
    async with httpx.AsyncClient(timeout=30) as client:
        body = {"name": "Bench Reader", "email": f"r-{uuid.uuid4().hex[:8]}@bench.io", "age": 41}
        created = (
            await client.post(
                f"{command_url}/api/v1/cqrs/commands", json={"type": "CreateUser", "data": body}
            )
        ).json()
        uid, token = created["aggregate_id"], created["consistency_token"]
        for amount in ("10.00", "20.00", "30.00"):
            order = {"user_id": uid, "amount": amount, "currency": "USD"}
            answer = (
                await client.post(
                    f"{command_url}/api/v1/cqrs/commands",
                    json={"type": "CreateOrder", "data": order},
                )
            ).json()
            token = answer["consistency_token"]
        for _ in range(60):  # the projector may still be working through a write benchmark
            shown = await client.post(
                f"{query_url}/api/v1/cqrs/queries",
                json={"type": "GetUserOrders", "data": {"id": uid}},
                headers={"X-Consistency-Token": token},
            )
            if shown.status_code == 200:
                break
        user = await client.post(
            f"{query_url}/api/v1/cqrs/queries", json={"type": "GetUser", "data": {"id": uid}}
        )
        assert user.status_code == 200, (shown.text, user.text)
        return uid, json.dumps(user.json()["result"])


def query_script(body: dict[str, object]) -> str:
    return wrk.post_script("/api/v1/cqrs/queries", body)


@contextlib.asynccontextmanager
async def bare_app(system: BenchSystem, document: str) -> AsyncIterator[tuple[str, int]]:
    """The baseline running: (its URL, the pid of its Granian process, workers below it)."""
    key = f"bench:{system.run}:baseline-doc"
    redis = Redis.from_url(system.endpoints.redis_url)
    await redis.set(key, document)
    port = free_port()
    env = {**os.environ, "BENCH_REDIS_URL": system.endpoints.redis_url, "BENCH_KEY": key}
    granian = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "tests.bench.baseline_app:app",
    ]
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "baseline-granian.log").open("ab") as log:
        proc = subprocess.Popen(granian, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def answered() -> bool:
                await client.get(f"http://127.0.0.1:{port}/")
                return True

            await eventually(
                answered,
                timeout=10,
                interval=0.1,
                ignoring=(httpx.TransportError,),
                what="the baseline app to answer",
            )
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        await redis.delete(key)
        await redis.aclose()
