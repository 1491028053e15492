"""Adapters: read store, event store reader, Redis cache and notifications, dead letters."""
