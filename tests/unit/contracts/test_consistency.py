"""Consistency tokens: `type:id@version,...`."""

import pytest

from cqrs_contracts.consistency import (
    InvalidTokenError,
    StreamVersion,
    decode_token,
    encode_token,
)

USER = StreamVersion("user", "3f2a", 4)
ORDER = StreamVersion("order", "9bc1", 2)


def test_encode_lists_streams_sorted() -> None:
    assert encode_token([USER, ORDER]) == "order:9bc1@2,user:3f2a@4"


def test_round_trip() -> None:
    assert decode_token(encode_token([USER, ORDER])) == [ORDER, USER]


def test_decode_tolerates_spaces_and_empty_parts() -> None:
    assert decode_token(" user:3f2a@4 , ,order:9bc1@2,") == [USER, ORDER]


@pytest.mark.parametrize(
    "token",
    [
        "",
        " , ",
        "user",
        "user:3f2a",
        "user:3f2a@",
        "user:3f2a@x",
        "user:3f2a@-1",
        "user:3f2a@1.5",
        ":3f2a@1",
        "user:@1",
        "user3f2a@1",
        "@1",
        "user:3f2a@4,order",
    ],
)
def test_malformed_tokens_raise_invalid_token_error(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        decode_token(token)


@pytest.mark.parametrize("token", ["user:3f2a@\u00b2", "user:3f2a@1\u2075"])
def test_non_decimal_digits_raise_invalid_token_error(token: str) -> None:
    # "²".isdigit() is True, but int("²") raises a plain ValueError.
    with pytest.raises(InvalidTokenError):
        decode_token(token)
