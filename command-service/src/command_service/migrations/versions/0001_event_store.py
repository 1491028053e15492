"""Event store, snapshots, outbox, unique claims, command log, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME, LONGTEXT

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = DATETIME(fsp=6)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("stream_type", sa.String(50), nullable=False),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        mysql_engine="InnoDB",
    )
    op.create_index("ix_events_type_position", "events", ["type", "position"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_table(
        "snapshots",
        sa.Column("stream_id", sa.String(64), primary_key=True),
        sa.Column("stream_type", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("payload", LONGTEXT, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_index("ix_outbox_shard_id", "outbox", ["shard", "id"])
    op.create_table(
        "unique_claims",
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_table(
        "command_log",
        sa.Column("command_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("http_status", sa.SmallInteger, nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("event_ids", sa.JSON, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_index("ix_command_log_received", "command_log", ["received_at"])
    op.create_index("ix_command_log_type_received", "command_log", ["type", "received_at"])
    op.create_index("ix_command_log_status_received", "command_log", ["status", "received_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("http_status", sa.SmallInteger, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        mysql_engine="InnoDB",
    )
    op.create_index("ix_idempotency_expires", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "command_log",
        "unique_claims",
        "outbox",
        "snapshots",
        "events",
    ):
        op.drop_table(table)
