"""The Litestar read API."""
