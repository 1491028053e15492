"""The command service on the in-memory write store (which passes the write store's
contract, tests/support/write_store_contract.py): sending commands, reading what the
store holds, and a rival writer that changes a stream while a command is decided."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from command_service.adapters.memory_store import MemoryBatchSession, MemoryWriteStore
from command_service.application.command_handlers import BUILT_IN, CommandSpec
from command_service.application.ports import (
    BatchConflictError,
    StoredAnswer,
    WriteSession,
    WriteStore,
)
from command_service.application.service import Caller, CommandService
from command_service.domain.decisions import Context, Decision, StreamChange
from cqrs_contracts.envelopes import CommandRequest, EventEnvelope, EventMetadata
from cqrs_contracts.events import UserUpdated
from cqrs_contracts.settings import Settings, load_settings

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "config.yaml"


def make_settings(**command_service: Any) -> Settings:
    """The real configs/config.yaml, no environment, `command_service` keys replaced."""
    loaded = load_settings(CONFIG, env={})
    cs = loaded.command_service.model_copy(update=command_service)
    return loaded.model_copy(update={"command_service": cs})


@dataclass
class Service:
    """A CommandService wired to a fresh in-memory store; counts its commit signals."""

    store: MemoryWriteStore = field(default_factory=MemoryWriteStore)
    settings: Settings = field(default_factory=make_settings)
    commits: list[None] = field(default_factory=list)

    def __post_init__(self) -> None:
        port: WriteStore = self.store  # mypy: the fake fulfils the port
        self.service = CommandService(port, self.settings, on_commit=self._committed)

    def _committed(self, shard: int) -> None:
        self.commits.append(None)

    def send(
        self, type_: str, data: dict[str, Any], caller: Caller | None = None, **envelope: Any
    ) -> Awaitable[StoredAnswer]:
        request = CommandRequest.model_validate({"type": type_, "data": data, **envelope})
        return self.service.execute(request, caller or Caller(actor="unit"))

    async def accept(self, type_: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
        answer = await self.send(type_, data, **envelope)
        assert answer.http_status == 200, answer.body
        return answer.body

    async def new_user(self, email: str | None = None, age: int = 30) -> str:
        body = await self.accept("CreateUser", user_data(email, age))
        return str(body["aggregate_id"])

    def stream(self, stream_id: str) -> list[EventEnvelope]:
        return self.store.tables.streams.get(stream_id, [])

    def logged(self, command_id: str) -> tuple[str, int]:
        record = self.store.tables.command_log[command_id]
        return record.status, record.http_status


def user_data(email: str | None = None, age: int = 30) -> dict[str, Any]:
    return {"name": "Unit Test", "email": email or unique_email(), "age": age}


def unique_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def error_code(answer: StoredAnswer, status: int) -> str:
    assert answer.http_status == status, answer.body
    return str(answer.body["error"]["code"])


class DeadlockingStore(MemoryWriteStore):
    """Every batch fails as MySQL's deadlocks do: BatchConflictError, nothing written."""

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[MemoryBatchSession]:
        async with super().batch() as batch:
            yield batch
            raise BatchConflictError("deadlock")


@dataclass
class Rival:
    """Wraps UpdateUser: after the decisions numbered in `strikes` (1 is the first),
    another writer commits an event to the same user, so the command's append clashes."""

    store: WriteStore
    strikes: Collection[int]
    decided: int = 0

    def spec(self) -> CommandSpec:
        return replace(BUILT_IN["UpdateUser"], handler=self.handle)

    async def handle(self, session: WriteSession, command: Any, ctx: Context) -> Decision:
        decision = await BUILT_IN["UpdateUser"].handler(session, command, ctx)
        self.decided += 1
        if self.decided in self.strikes:
            await self.write(command.user_id)
        return decision

    async def write(self, user_id: str) -> None:
        now = datetime.now(UTC)
        event = UserUpdated(user_id=user_id, name=f"rival {self.decided}", updated_at=now)
        async with self.store.session() as session:
            await session.load("user", user_id)
            change = StreamChange("user", user_id, (event,))
            await session.append((change,), EventMetadata(actor="rival"), now)
