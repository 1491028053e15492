"""The in-memory handler store keeps the HandlerStore contract."""

import pytest

from cqrs_http.handlers.memory import InMemoryHandlerStore
from cqrs_http.handlers.store import HandlerStore
from tests.support.handler_store_contract import HandlerStoreContract


class TestInMemoryHandlerStore(HandlerStoreContract):
    kind = "command"

    @pytest.fixture
    def store(self) -> HandlerStore:
        return InMemoryHandlerStore(self.kind)
