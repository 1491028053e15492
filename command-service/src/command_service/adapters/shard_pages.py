"""Pages of a list merged over the event store's shards (pure, no I/O): one opaque cursor
that says where the list is in each shard, and the merge of each shard's next rows.

The cursor is base64url of a JSON object {"<shard>": where the list is in that shard}
(the last item it returned from there); a shard it does not name has returned nothing
yet. A cursor handed out before sharding (a JSON list: one shard's place) reads as
shard 0's place.

A page takes up to `limit` + 1 rows from each shard, in that shard's own order, and
merges them by `key`: what it returns of a shard is always a prefix of that shard's
rows after its place, so the next page goes on from there in every shard and no item
is returned twice or skipped, whatever is appended meanwhile."""

import base64
import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class BadCursorError(ValueError):
    """A cursor that this service did not hand out."""


def encode_cursor(places: Mapping[int, Any]) -> str:
    """The cursor of `places` (shard -> where the list is there; JSON values)."""
    body = {str(shard): place for shard, place in sorted(places.items())}
    return base64.urlsafe_b64encode(json.dumps(body, default=str).encode()).decode()


def decode_cursor(cursor: str, valid: Callable[[Any], bool]) -> dict[int, Any]:
    """The places of a cursor this service made (each one `valid`); BadCursorError else."""
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, json.JSONDecodeError) as error:
        raise BadCursorError("malformed cursor") from error
    if isinstance(body, list):  # before sharding: the one shard's place, its values listed
        body = {"0": body[0] if len(body) == 1 else body}
    if not isinstance(body, dict) or not body:
        raise BadCursorError("malformed cursor")
    places: dict[int, Any] = {}
    for shard, place in body.items():
        if not (isinstance(shard, str) and shard.isdigit() and valid(place)):
            raise BadCursorError("malformed cursor")
        places[int(shard)] = place
    return places


def merged(
    rows: Mapping[int, Sequence[T]],
    key: Callable[[int, T], Any],
    limit: int,
    *,
    newest_first: bool = False,
) -> tuple[list[tuple[int, T]], bool]:
    """The first `limit` of every shard's `rows` (each in its own order) merged by `key`
    (shard, row) (descending when `newest_first`), each with its shard; and whether any
    row is left over (there is a next page)."""
    streams = [[(shard, row) for row in shard_rows] for shard, shard_rows in sorted(rows.items())]
    merge = heapq.merge(*streams, key=lambda sr: key(*sr), reverse=newest_first)
    taken = [item for _, item in zip(range(limit), merge, strict=False)]
    return taken, sum(len(r) for r in rows.values()) > limit


def advanced(
    places: Mapping[int, Any], taken: Sequence[tuple[int, T]], place: Callable[[T], Any]
) -> dict[int, Any]:
    """`places` moved past what a page `taken` returned: each shard's last `place`."""
    moved = dict(places)
    for shard, row in taken:
        moved[shard] = place(row)
    return moved


def is_position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_time_and_id(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
