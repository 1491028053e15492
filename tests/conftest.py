"""Marks each test by its folder and registers the shared fixtures."""

import pytest

pytest_plugins = ["tests.support.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in: unit/, integration/ or e2e/."""
    for item in items:
        for kind in ("unit", "integration", "e2e"):
            if f"/tests/{kind}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, kind))
