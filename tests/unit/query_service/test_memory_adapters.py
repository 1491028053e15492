"""The in-memory adapters keep the contracts of the QueryService ports (the same tests
the real adapters pass against the read store and Redis)."""

import pytest

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ReadModel
from query_service.adapters.memory.cache import InMemoryCache
from query_service.adapters.memory.consistency import InMemoryWaiter
from query_service.adapters.memory.history import InMemoryHistory
from query_service.adapters.memory.query_log import InMemoryQueryLog
from query_service.adapters.memory.read_models import InMemoryReadModels
from tests.support.query_contracts.cache import CacheContract, Invalidate
from tests.support.query_contracts.history import Append, HistoryContract
from tests.support.query_contracts.query_log import QueryLogContract, ReadBack
from tests.support.query_contracts.read_models import Put, ReadModelsContract
from tests.support.query_contracts.waiter import Applied, WaiterContract


class TestInMemoryReadModels(ReadModelsContract):
    @pytest.fixture
    def read_models(self) -> InMemoryReadModels:
        return InMemoryReadModels()

    @pytest.fixture
    def put(self, read_models: InMemoryReadModels) -> Put:
        async def put(doc: ReadModel) -> None:
            read_models.put(doc)

        return put


class TestInMemoryCache(CacheContract):
    @pytest.fixture
    def cache(self) -> InMemoryCache:
        return InMemoryCache()

    @pytest.fixture
    def invalidate(self, cache: InMemoryCache) -> Invalidate:
        async def invalidate(read_model: str, doc_id: str) -> None:
            cache.invalidate(read_model, doc_id)

        return invalidate


class TestInMemoryWaiter(WaiterContract):
    @pytest.fixture
    def waiter(self) -> InMemoryWaiter:
        return InMemoryWaiter()

    @pytest.fixture
    def applied(self, waiter: InMemoryWaiter) -> Applied:
        async def applied(stream_id: str, version: int) -> None:
            waiter.raise_applied(stream_id, version)

        return applied


class TestInMemoryQueryLog(QueryLogContract):
    @pytest.fixture
    def log(self) -> InMemoryQueryLog:
        return InMemoryQueryLog()

    @pytest.fixture
    def read_back(self, log: InMemoryQueryLog) -> ReadBack:
        return log.get


class TestInMemoryHistory(HistoryContract):
    @pytest.fixture
    def history(self) -> InMemoryHistory:
        return InMemoryHistory()

    @pytest.fixture
    def append(self, history: InMemoryHistory) -> Append:
        async def append(envelopes: list[EventEnvelope]) -> None:
            history.append(*envelopes)

        return append
