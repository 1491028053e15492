"""What the read store keeps of a document's times: BSON dates hold whole milliseconds, so
a stored document reads back with every datetime cut to the millisecond. A document made
elsewhere (time travel folds it from the event store, which keeps microseconds) goes
through `as_stored` to answer exactly as the stored one would."""

from datetime import datetime
from typing import Any, TypeVar

from cqrs_contracts.read_models import ReadModel

M = TypeVar("M", bound=ReadModel)


def _cut(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


def as_stored(doc: M) -> M:
    """`doc` as the read store gives it back: its datetimes to the millisecond (floor)."""
    return type(doc).model_validate(_cut(doc.model_dump()))
