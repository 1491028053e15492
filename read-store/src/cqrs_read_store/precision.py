"""What the read store keeps of a document's times: BSON dates hold whole milliseconds, so
a stored document reads back with every datetime cut to the millisecond. A document made
elsewhere (time travel folds it from the event store, which keeps microseconds) goes
through `as_stored` to answer exactly as the stored one would; the projections order
lists by `to_millisecond` of a time, so a document sorts alike before and after a trip
through the store."""

from datetime import datetime
from typing import Any, TypeVar

from cqrs_contracts.read_models import ReadModel

M = TypeVar("M", bound=ReadModel)


def to_millisecond(value: datetime) -> datetime:
    """`value` as the read store keeps it: cut (floor) to the millisecond."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _cut(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_millisecond(value)
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


def as_stored(doc: M) -> M:
    """`doc` as the read store gives it back: its datetimes to the millisecond (floor)."""
    return type(doc).model_validate(_cut(doc.model_dump()))
