"""Alembic migrations of the event store; `upgrade_to_head` runs them from code."""

from pathlib import Path

from alembic import command
from alembic.config import Config


def upgrade_to_head(url: str) -> None:
    """Apply every migration to the database at `url` (blocking; call via a thread)."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["url"] = url
    command.upgrade(config, "head")
