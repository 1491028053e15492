"""Adapters: Beanie read models, Redis cache, consistency waits, the query log."""
