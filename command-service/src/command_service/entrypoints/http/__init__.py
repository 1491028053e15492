"""The Litestar write API."""
