"""Root fixtures: real services for integration and e2e tests, one namespace per run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.services import Endpoints, real_services


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in: unit/, integration/ or e2e/."""
    for item in items:
        for kind in ("unit", "integration", "e2e"):
            if f"/tests/{kind}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id that names this run's databases, collections, topics and keys."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with real_services() as found:
        yield found
