"""The event store's MariaDB schema (SQLAlchemy Core): the one definition of every table.

The command-service writes these tables and owns their Alembic migrations, which must
create exactly what is declared here (tests/integration/event_store checks it); the
projector only reads `events`, through `cqrs_event_store.reader`."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import DATETIME, LONGTEXT

metadata = MetaData()

# The event store: append-only. `position` is the global order; (stream_id, version)
# is the optimistic-concurrency guard.
events = Table(
    "events",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("stream_type", String(50), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("occurred_at", DATETIME(fsp=6), nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    Index("ix_events_type_position", "type", "position"),
    Index("ix_events_occurred_at", "occurred_at"),
)

# Latest snapshot per stream: the folded state at `version`.
snapshots = Table(
    "snapshots",
    metadata,
    Column("stream_id", String(64), primary_key=True),
    Column("stream_type", String(50), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", JSON, nullable=False),
    Column("taken_at", DATETIME(fsp=6), nullable=False),
)

# Transactional outbox: one row per event to publish, written with the event.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("shard", SmallInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("message_key", String(64), nullable=False),
    Column("payload", LONGTEXT, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Index("ix_outbox_shard_id", "shard", "id"),
)

# Values unique across aggregates (user emails): claimed in the same transaction.
unique_claims = Table(
    "unique_claims",
    metadata,
    Column("scope", String(50), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("owner", String(64), nullable=False),
)

# The command log and audit trail: every command, accepted or rejected.
command_log = Table(
    "command_log",
    metadata,
    Column("command_id", String(64), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("http_status", SmallInteger, nullable=False),
    Column("aggregate_id", String(64), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("request", JSON, nullable=False),
    Column("error", JSON, nullable=True),
    Column("event_ids", JSON, nullable=False),
    Column("received_at", DATETIME(fsp=6), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_command_log_received", "received_at"),
    Index("ix_command_log_type_received", "type", "received_at"),
    Index("ix_command_log_status_received", "status", "received_at"),
)

# Idempotency keys: the first answer, replayed for a repeated key until it expires.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("command_id", String(64), nullable=False),
    Column("http_status", SmallInteger, nullable=False),
    Column("response", Text, nullable=False),
    Column("expires_at", DATETIME(fsp=6), nullable=False),
    Column("fingerprint", String(64), nullable=True),  # sha256 of the request; NULL: older
    Index("ix_idempotency_expires", "expires_at"),
)

# Declared command types, and built-in ones an admin disabled (built_in, not enabled).
command_handlers = Table(
    "command_handlers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("declaration", JSON, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("built_in", Boolean, nullable=False),
    Column("updated_at", DATETIME(fsp=6), nullable=False),
)

# Who registered, replaced, unregistered, disabled or enabled which handler, and when.
handler_audit = Table(
    "handler_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("action", String(20), nullable=False),
    Column("actor", String(200), nullable=True),
    Column("declaration", JSON, nullable=True),
    Column("at", DATETIME(fsp=6), nullable=False),
    Index("ix_handler_audit_name_at", "name", "at"),
)

# One data key per person, wrapped by the master key; a destroyed key keeps its row with
# no wrapped key (a tombstone): what it sealed reads as erased (cqrs_event_store.privacy).
data_keys = Table(
    "data_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("wrapped_key", String(100), nullable=True),  # base64
    Column("master_key_id", String(64), nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Column("destroyed_at", DATETIME(fsp=6), nullable=True),
    UniqueConstraint("subject", name="uq_data_keys_subject"),
)
