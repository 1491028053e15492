"""The bound on a request body's JSON nesting: counted, not guessed from brackets in
strings; a malformed body is left to the handler's own 400."""

import json

from cqrs_http.json_depth import depth_of, too_deep


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_depth_counts_lists_and_objects() -> None:
    assert depth_of(1) == 0
    assert depth_of([]) == 1
    assert depth_of({"a": [{"b": [1]}]}) == 4


def test_a_body_at_the_bound_passes_and_one_deeper_does_not() -> None:
    assert not too_deep(nested(64), 64)
    assert too_deep(nested(65), 64)


def test_far_too_deep_for_the_decoder_itself_is_too_deep() -> None:
    assert too_deep(nested(50_000), 64)


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"type": "CreateUser", "data": {"name": "[" * 500}}).encode()
    assert not too_deep(body, 64)


def test_a_malformed_body_is_not_judged_here() -> None:
    assert not too_deep(b"[" * 100, 64)
