"""Handlers registered at run time (declared commands, disabled built-ins) and their audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = DATETIME(fsp=6)


def upgrade() -> None:
    op.create_table(
        "command_handlers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("declaration", sa.JSON, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("built_in", sa.Boolean, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_table(
        "handler_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("declaration", sa.JSON, nullable=True),
        sa.Column("at", TS, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_index("ix_handler_audit_name_at", "handler_audit", ["name", "at"])


def downgrade() -> None:
    op.drop_table("handler_audit")
    op.drop_table("command_handlers")
