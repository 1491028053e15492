"""The benchmarks `just bench` runs."""

from collections.abc import Awaitable, Callable

BENCHMARKS: dict[str, Callable[[], Awaitable[None]]] = {}
