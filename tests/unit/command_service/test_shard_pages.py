"""The cursor and merge of lists over the event store's shards (pure)."""

import base64
import json
from typing import Any

import pytest

from command_service.adapters.shard_pages import (
    BadCursorError,
    advanced,
    decode_cursor,
    encode_cursor,
    is_position,
    is_time_and_id,
    merged,
)


def raw(body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def test_a_cursor_round_trips_each_shards_place() -> None:
    places = {0: 17, 3: 4}
    assert decode_cursor(encode_cursor(places), is_position) == places
    times = {1: ["2025-01-01T00:00:00+00:00", "c1"]}
    assert decode_cursor(encode_cursor(times), is_time_and_id) == times


def test_a_cursor_from_before_sharding_is_shard_0s_place() -> None:
    assert decode_cursor(raw([12]), is_position) == {0: 12}
    assert decode_cursor(raw(["2025-01-01", "c9"]), is_time_and_id) == {0: ["2025-01-01", "c9"]}


@pytest.mark.parametrize(
    "cursor",
    ["%%%", raw({}), raw({"x": 1}), raw({"0": "twelve"}), raw({"0": True}), raw({"0": -1}), raw(3)],
)
def test_a_cursor_this_service_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursorError):
        decode_cursor(cursor, is_position)


def test_the_merge_takes_a_prefix_of_every_shard_and_says_whether_more_is_left() -> None:
    rows = {0: [(1, "a"), (5, "b"), (6, "c")], 1: [(2, "x"), (3, "y")]}
    taken, more = merged(rows, lambda shard, row: (row[0], shard), limit=3)
    assert taken == [(0, (1, "a")), (1, (2, "x")), (1, (3, "y"))]
    assert more
    taken, more = merged(rows, lambda shard, row: (row[0], shard), limit=5)
    assert [row for _, row in taken] == [(1, "a"), (2, "x"), (3, "y"), (5, "b"), (6, "c")]
    assert not more


def test_the_merge_keeps_each_shards_own_order_where_times_disagree() -> None:
    # shard 0's rows by position, their times not in order: each shard stays a prefix
    rows = {0: [(9, "p1"), (1, "p2")], 1: [(5, "q1")]}
    taken, _ = merged(rows, lambda shard, row: (row[0], shard), limit=2)
    assert taken == [(1, (5, "q1")), (0, (9, "p1"))]


def test_newest_first_merges_descending() -> None:
    rows = {0: [(9, "a"), (4, "b")], 1: [(7, "x"), (1, "y")]}
    taken, more = merged(rows, lambda shard, row: (row[0], shard), 3, newest_first=True)
    assert [row[1] for _, row in taken] == ["a", "x", "b"]
    assert more


def test_places_advance_to_each_shards_last_row_and_keep_the_others() -> None:
    taken = [(0, {"p": 3}), (2, {"p": 8}), (0, {"p": 4})]
    assert advanced({0: 1, 1: 6}, taken, lambda r: r["p"]) == {0: 4, 1: 6, 2: 8}
