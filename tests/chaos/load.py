"""A steady command load with a well-behaved client.

Every logical command carries its own idempotency key. A 2xx is final and recorded as
accepted. A connection failure, a timeout, a 5xx, a 429 or a 409 "duplicate command in
flight" is retried with the SAME key after a short pause, up to RETRY_FOR seconds, so the
system must apply it exactly once. Any other 4xx is final and recorded as rejected (none
is expected: every command the load sends is valid).

Next to the steady mix (CreateUser, UpdateUser, CreateOrder, ProcessPayment) many
clients at once keep updating a few hot aggregates (a handful of users and orders), so
that version clashes happen all the time, kills included."""

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

COMMANDS = "/api/v1/cqrs/commands"
RETRY_FOR = 150.0  # seconds one command keeps being retried before the client gives up
CLIENT_TIMEOUT = 20.0  # longer than the service's own request timeout (15 s)
HOT_USERS, HOT_ORDERS = 4, 3
HOT_AMOUNT, PAYMENT = "100000.00", "1.00"


@dataclass
class Sent:
    """One logical command and what became of it."""

    key: str
    type: str
    data: dict[str, Any]
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    status: int | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    answered_at: float | None = None  # time.monotonic() of the final answer

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def event_ids(self) -> list[str]:
        return [e["event_id"] for e in self.answer.get("events", [])]


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else {"body": body}


def _retryable(response: httpx.Response) -> bool:
    if response.status_code >= 500 or response.status_code == 429:
        return True
    if response.status_code == 409:  # the same key still in flight from an earlier attempt
        return bool(_body(response).get("error", {}).get("code") == "conflict")
    return False


class CommandLoad:
    def __init__(self, base_url: str, rate: float, seed: int = 7) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=CLIENT_TIMEOUT,
            limits=httpx.Limits(max_connections=300, max_keepalive_connections=100),
        )
        self.rate = rate
        self.random = random.Random(seed)
        self.sent: list[Sent] = []
        self.users: list[str] = []
        self.orders: list[str] = []
        self.hot_users: list[str] = []
        self.hot_orders: list[str] = []
        self._names = itertools.count(1)
        self._tasks: set[asyncio.Task[Sent]] = set()

    async def close(self) -> None:
        await self.client.aclose()

    # --- one command, retried with its key until it is answered for good -------------------

    async def send(self, type_: str, data: dict[str, Any]) -> Sent:
        sent = Sent(key=uuid.uuid4().hex, type=type_, data=data)
        self.sent.append(sent)
        deadline, pause = time.monotonic() + RETRY_FOR, 0.2
        body = {"type": type_, "data": data}
        while True:
            sent.attempts += 1
            try:
                response = await self.client.post(
                    COMMANDS, json=body, headers={"Idempotency-Key": sent.key}
                )
            except httpx.TransportError as failure:
                sent.failures.append(type(failure).__name__)
            else:
                if not _retryable(response):
                    sent.status, sent.answer = response.status_code, _body(response)
                    sent.answered_at = time.monotonic()
                    self._remember(sent)
                    return sent
                sent.failures.append(str(response.status_code))
            if time.monotonic() > deadline:
                return sent  # gave up: status stays None
            await asyncio.sleep(pause * (0.5 + self.random.random()))
            pause = min(pause * 2, 2.0)

    def _remember(self, sent: Sent) -> None:
        if not sent.accepted:
            return
        if sent.type == "CreateUser":
            self.users.append(sent.answer["aggregate_id"])
        elif sent.type == "CreateOrder":
            self.orders.append(sent.answer["aggregate_id"])

    # --- what to send ----------------------------------------------------------------------

    def create_user(self) -> tuple[str, dict[str, Any]]:
        email = f"chaos-{uuid.uuid4().hex[:16]}@example.com"
        return "CreateUser", {"name": "Chaos User", "email": email, "age": 30}

    def update_user(self, user_id: str) -> tuple[str, dict[str, Any]]:
        return "UpdateUser", {"user_id": user_id, "name": f"Chaos {next(self._names)}"}

    def create_order(self, user_id: str, amount: str = "1000.00") -> tuple[str, dict[str, Any]]:
        return "CreateOrder", {
            "user_id": user_id,
            "amount": amount,
            "currency": "USD",
            "description": "chaos",
        }

    def pay(self, order_id: str) -> tuple[str, dict[str, Any]]:
        data = {"order_id": order_id, "amount": PAYMENT, "currency": "USD", "method": "wallet"}
        return "ProcessPayment", data

    def _next(self) -> tuple[str, dict[str, Any]]:
        roll = self.random.random()
        if roll < 0.2 or not self.users:
            return self.create_user()
        if roll < 0.5:
            return self.update_user(self.random.choice(self.users))
        if roll < 0.75 or not self.orders:
            return self.create_order(self.random.choice(self.users))
        return self.pay(self.random.choice(self.orders))

    # --- running ---------------------------------------------------------------------------

    async def seed(self) -> None:
        """The hot aggregates, created before the load starts (the system is healthy)."""
        for _ in range(HOT_USERS):
            user = await self.send(*self.create_user())
            assert user.accepted, user.answer
            self.hot_users.append(user.answer["aggregate_id"])
        for index in range(HOT_ORDERS):
            order = await self.send(*self.create_order(self.hot_users[index], HOT_AMOUNT))
            assert order.accepted, order.answer
            self.hot_orders.append(order.answer["aggregate_id"])

    def _spawn(self, type_: str, data: dict[str, Any]) -> None:
        task = asyncio.create_task(self.send(type_, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, stop: asyncio.Event, hot_every: float = 1.0) -> None:
        """The steady mix at `rate` per second, and every `hot_every` seconds a crowd of
        clients on one hot user and one hot order, until `stop`; then wait for every
        command still being retried."""
        interval, started, tick = 1.0 / self.rate, time.monotonic(), 0
        next_hot = started
        while not stop.is_set():
            self._spawn(*self._next())
            now = time.monotonic()
            if now >= next_hot:
                self._crowd()
                next_hot += hot_every
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * interval - time.monotonic()))
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def _crowd(self) -> None:
        user, order = self.random.choice(self.hot_users), self.random.choice(self.hot_orders)
        for _ in range(6):
            self._spawn(*self.update_user(user))
        for _ in range(4):
            self._spawn(*self.pay(order))

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def failure_kinds(self) -> Counter[str]:
        return Counter(f for s in self.sent for f in s.failures)
