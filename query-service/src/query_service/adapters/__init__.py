"""Adapters: Redis cache, consistency waits, the query log, declared query types (the
read models are read through cqrs_read_store.reader)."""
