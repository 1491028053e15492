"""Replica lag from GTID positions: parsing, "reached", and seconds behind from when the
primary was first seen at a position."""

import pytest

from cqrs_event_store.replica_lag import BadGtidError, LagClock, has_reached, parse_gtid


def test_positions_parse_per_domain() -> None:
    assert parse_gtid("0-1-1234,1-2-7") == {0: 1234, 1: 7}
    assert parse_gtid("") == {}
    assert parse_gtid(None) == {}


@pytest.mark.parametrize("text", ["0-1", "a-b-c", "0-1-2-3"])
def test_a_malformed_position_raises(text: str) -> None:
    with pytest.raises(BadGtidError):
        parse_gtid(text)


def test_reached_means_every_domain_is_at_or_past_the_target() -> None:
    assert has_reached({0: 10, 1: 5}, {0: 10})
    assert not has_reached({0: 9, 1: 5}, {0: 10})
    assert not has_reached({0: 10}, {0: 10, 1: 1})  # a domain it never saw


def test_lag_counts_from_when_the_primary_was_first_seen_past_the_replica() -> None:
    clock = LagClock()
    clock.observe(100.0, {0: 5})
    clock.observe(101.0, {0: 5})  # unchanged: the first sighting counts
    clock.observe(103.0, {0: 9})
    assert clock.lag(104.0, {0: 9}) == 0.0
    assert clock.lag(104.0, {0: 6}) == 1.0  # {0: 9} first seen at 103
    assert clock.lag(104.0, {0: 2}) == 4.0  # not even {0: 5}, seen at 100


def test_samples_every_replica_reached_are_forgotten_but_the_newest() -> None:
    clock = LagClock()
    for at, seq in ((1.0, 1), (2.0, 2), (3.0, 3)):
        clock.observe(at, {0: seq})
    clock.forget_before([{0: 3}])
    assert clock.lag(10.0, {0: 2}) == 7.0  # only the newest sample is left


def test_at_most_keep_samples_are_kept() -> None:
    clock = LagClock(keep=2)
    for at, seq in ((1.0, 1), (2.0, 2), (3.0, 3)):
        clock.observe(at, {0: seq})
    assert clock.lag(10.0, {0: 0}) == 8.0  # the oldest (at 1.0) is gone
