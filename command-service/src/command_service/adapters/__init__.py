"""Adapters: MySQL event store, outbox, command log, Kafka publisher."""
