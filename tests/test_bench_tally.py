"""The benchmarks' tally: a failed call is an error, never a figure, and the run exits non-zero."""
from __future__ import annotations

import json
import threading

import pytest

from bench.tally import CallFailed, Tally, expect_success, percentile


def fails() -> None:
    raise CallFailed("500 Unhandled: b'boom'")


def test_failed_calls_are_counted_as_errors_not_timed():
    tally = Tally()
    answers = iter([None, "raise", None])

    def call() -> None:
        if next(answers) == "raise":
            raise ConnectionError("reset by peer")

    assert len(tally.series(call, 3)) == 2
    assert tally.series(fails, 2) == []
    assert tally.errors == 3
    assert tally.samples[0] == "ConnectionError: reset by peer"


def test_a_function_error_or_another_status_is_a_failure():
    expect_success(200, None, b"{}")
    for status, error in ((200, "Unhandled"), (500, None), (429, None)):
        with pytest.raises(CallFailed):
            expect_success(status, error, b"{}")


def test_throughput_counts_clients_that_raise_and_never_waits_for_them():
    tally = Tally()
    made = 0
    lock = threading.Lock()

    def make_call():
        nonlocal made
        with lock:
            made += 1
            mine = made
        if mine == 1:
            raise RuntimeError("could not connect")  # dies before the start line
        if mine == 2:
            return fails  # each call fails
        return lambda: None

    rates = []
    run = threading.Thread(target=lambda: rates.append(tally.throughput(make_call, clients=4, seconds=0.2)))
    run.start()
    run.join(timeout=30)
    assert not run.is_alive(), "the run waited for a client that had raised"
    assert rates[0] > 0  # the two healthy clients' calls
    assert tally.errors >= 2  # the client that raised, and the failing client's first call at least
    assert any("could not connect" in sample for sample in tally.samples)


def test_report_prints_the_error_count_and_exits_1(capsys):
    tally = Tally()
    tally.report({"p50_ms": 1.0})
    clean = json.loads(capsys.readouterr().out)
    assert clean["errors"] == 0 and "error_samples" not in clean

    tally.failed(3, "non-2xx answers")
    with pytest.raises(SystemExit) as exit_:
        tally.report({"p50_ms": 1.0})
    assert exit_.value.code == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["errors"] == 3 and printed["error_samples"] == ["3 x non-2xx answers"]


def test_percentile_of_nothing_is_none():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
