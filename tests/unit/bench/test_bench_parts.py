"""The pure parts of `just bench`: wrk's output read, CPU deltas from /proc, the freshness
split per stage (a stage without timestamps says so instead of a number)."""

import pytest

from tests.bench import cpu, freshness, wrk
from tests.bench.load import percentile

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8099/api/v1/cqrs/queries
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.92ms    3.10ms  61.23ms   88.12%
    Req/Sec     0.90k   120.00     1.10k    71.00%
  Latency Distribution
     50%  812.00us
     75%    9.80ms
     90%   12.01ms
     99%    1.20s
  17980 requests in 10.01s, 5.12MB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 40
Requests/sec:   1796.20
Transfer/sec:    523.40KB
"""


def test_wrk_output_is_read_with_units_errors_and_2xx_rate() -> None:
    result = wrk.parse(WRK_OUTPUT)
    assert result.requests == 17980
    assert result.seconds == pytest.approx(10.01)
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1200.0)
    assert (result.non_2xx, result.socket_errors, result.timeouts) == (40, 3, 3)
    assert result.ok == 17940
    assert result.rate == pytest.approx(17940 / 10.01)
    assert result.errors == 46


def test_wrk_output_without_errors_or_latency_lines() -> None:
    text = "  120 requests in 1.00m, 1.00MB read\nRequests/sec: 2.00\n"
    result = wrk.parse(text)
    assert (result.requests, result.seconds, result.errors) == (120, 60.0, 0)
    assert result.p99_ms == 0.0


def test_wrk_output_without_a_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="no request count"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_create_user_script_makes_unique_emails_per_thread_and_request() -> None:
    script = wrk.create_user_script()
    assert "function request()" in script
    assert "n = n + 1" in script
    assert 'thread:set("prefix"' in script
    assert wrk.create_user_script() != script  # a run tag of its own each time


def test_stat_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    text = "4242 (granian (worker) 1) S 4200 4200 4200 0 -1 4194560 10 0 0 0 150 25 0 0 20 0"
    assert cpu.parse_stat(text) == (4200, 175, 4200)


def test_descendants_take_the_whole_tree_below_a_root_only() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert cpu.descendants(10, parents) == {10, 11, 12, 13}
    assert cpu.descendants(99, parents) == set()  # gone: nothing


def test_cpu_deltas_count_new_processes_from_zero_and_never_go_negative() -> None:
    before = {"svc": {10: 100, 11: 50}, "db": {5: 1000}}
    # 11 ended (lost), 12 appeared, 10 used 30 more ticks; a reused pid reads lower: 0
    after = {"svc": {10: 130, 12: 20}, "db": {5: 900}}
    used = cpu.delta_seconds(before, after)
    assert used["svc"] == pytest.approx(50 / cpu.TICKS)
    assert used["db"] == 0.0


def test_cpu_per_operation_and_share_of_a_core() -> None:
    per = cpu.per_op_ms({"svc": 2.0, "db": 0.5}, 1000)
    assert per == pytest.approx({"svc": 2.0, "db": 0.5, "total": 2.5})
    assert cpu.per_op_ms({"svc": 1.0}, 0) == {}
    assert cpu.percent_of_core({"svc": 0.3}, 30) == pytest.approx({"svc": 1.0})


def test_percentile_of_samples() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.99) == 100.0
    assert percentile([], 0.5) == 0.0


def test_freshness_is_split_by_the_stage_timestamps_of_each_change() -> None:
    timings = {"kafka": 1005.0, "received": 1015.0, "stored": 1040.0}
    samples = [freshness.merge(1000.0, 1050.0, timings)]
    split = freshness.split(samples)
    assert split["2xx -> kafka record"]["p50_ms"] == 5.0
    assert split["kafka -> projector received"]["p99_ms"] == 10.0
    assert split["received -> stored"]["p50_ms"] == 25.0
    assert split["stored -> ws frame"]["p50_ms"] == 10.0
    assert split["end-to-end (2xx -> ws frame)"] == {"p50_ms": 50.0, "p99_ms": 50.0, "n": 1}


def test_stages_without_timings_say_so_and_end_to_end_still_counts() -> None:
    samples = [freshness.merge(1000.0, 1100.0, None), freshness.merge(0.0, 5.0, {"kafka": "x"})]
    split = freshness.split(samples)
    for stage in ("2xx -> kafka record", "kafka -> projector received", "received -> stored"):
        assert split[stage] == freshness.MISSING
    assert split["stored -> ws frame"] == freshness.MISSING
    assert split["end-to-end (2xx -> ws frame)"]["n"] == 2
