"""The MariaDB event store's stored format, one definition for every service:
`tables` (the schema), `event_codec` (row <-> EventEnvelope, upcast on read),
`timestamps` (DATETIME columns hold naive UTC) and `reader` (read-only: what the
projector reads for gap filling, rebuilds and the consistency check)."""
