"""Data keys for crypto-shredding: one per person, wrapped by the master key; a destroyed
key stays as a tombstone (wrapped_key NULL, destroyed_at set).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.String(100), nullable=True),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("created_at", DATETIME(fsp=6), nullable=False),
        sa.Column("destroyed_at", DATETIME(fsp=6), nullable=True),
        sa.UniqueConstraint("subject", name="uq_data_keys_subject"),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
