"""Test support: where the real services are, and per-run isolation."""
