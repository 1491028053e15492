from pathlib import Path

import pytest

from cqrs_contracts.settings import Settings, load_settings

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "config.yaml"


@pytest.fixture(scope="module")
def settings() -> Settings:
    """The real configs/config.yaml, with no environment overrides."""
    return load_settings(CONFIG, env={})
