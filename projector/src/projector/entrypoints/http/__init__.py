"""The projector admin API (Litestar)."""
