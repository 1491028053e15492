"""DATETIME columns hold naive UTC: aware datetimes in, aware datetimes out."""

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    """A stored DATETIME given back its zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as a DATETIME column stores it."""
    return value.astimezone(UTC).replace(tzinfo=None)
