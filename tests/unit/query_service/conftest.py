"""A QueryService on the in-memory adapters of its ports (which keep the same contracts
as the real ones: tests/support/query_contracts)."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cqrs_contracts.queries import QueryRequest
from cqrs_contracts.settings import Settings
from query_service.adapters.memory.cache import InMemoryCache
from query_service.adapters.memory.consistency import InMemoryWaiter
from query_service.adapters.memory.history import InMemoryHistory
from query_service.adapters.memory.past_answers import InMemoryPastAnswers
from query_service.adapters.memory.query_log import InMemoryQueryLog
from query_service.adapters.memory.read_models import InMemoryReadModels
from query_service.queries.past import TimeTravel
from query_service.queries.service import Answer, QueryService


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class World:
    service: QueryService
    read_models: InMemoryReadModels
    cache: InMemoryCache
    waiter: InMemoryWaiter
    log: InMemoryQueryLog
    history: InMemoryHistory
    past: InMemoryPastAnswers

    async def ask(
        self,
        type_: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        actor: str | None = "alice",
        allow_stale: bool = False,  # the X-Allow-Stale header
        stale_in_body: bool = False,  # the request's own allow_stale
    ) -> Reply:
        query = QueryRequest(type=type_, data=data or {}, allow_stale=stale_in_body)
        answer: Answer = await self.service.run(query, actor, token, allow_stale)
        return Reply(answer.status, json.loads(answer.content), answer.headers)


def make_world(read_models: InMemoryReadModels | None = None, **settings: Any) -> World:
    """`settings` by section, e.g. cqrs={"auditing_enabled": False}."""
    store, cache = read_models or InMemoryReadModels(), InMemoryCache()
    waiter, log = InMemoryWaiter(), InMemoryQueryLog()
    history, past = InMemoryHistory(), InMemoryPastAnswers()
    config = Settings(**settings)
    travel = TimeTravel(store, history, past, config)
    service = QueryService(store, cache, waiter, log, config, past=travel)
    return World(service, store, cache, waiter, log, history, past)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def world_with() -> Callable[..., World]:
    return make_world
