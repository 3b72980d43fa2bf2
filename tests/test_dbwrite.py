"""Unit tests of retried database writes: the recorder's loop and executor/dbwrite.py.

The database's failure is a fake at the boundary here (tests/test_faults.py locks a real one).
"""
from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from console.models import Invocation
from executor import recorder, redis_client
from executor.dbwrite import backoff, with_retries
from executor.result import InvokeResult

from .conftest import python_function


@pytest.fixture
def private_records(monkeypatch):
    """A list of our own, so a recorder process running for other tests does not take these records."""
    key = f"test:records:{uuid.uuid4().hex}"
    monkeypatch.setattr(recorder, "RECORDS_KEY", key)
    monkeypatch.setattr(recorder, "LOCK_KEY", key + ":lock")
    yield key
    redis_client.client().delete(key, key + ":lock")


def queue_record(function) -> str:
    request_id = str(uuid.uuid4())
    now = timezone.now().isoformat()
    result = InvokeResult(request_id, Invocation.Status.SUCCEEDED, log_stream_name="s")
    row = dict(function_id=function.pk, invocation_type="RequestResponse", started=now, finished=now, attempts=1)
    redis_client.client().rpush(recorder.RECORDS_KEY, recorder.encode(result, row, [[1700000000000, "hello"]]))
    return request_id


def test_a_failed_commit_leaves_the_records_queued_until_the_database_takes_them(
        transactional_db, alice_account, private_records, monkeypatch):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    request_id = queue_record(fn)
    real_insert = recorder._insert

    def disk_full(batch):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(recorder, "_insert", disk_full)
    with pytest.raises(OperationalError):
        recorder.drain()
    assert redis_client.client().llen(private_records) == 1
    assert not Invocation.objects.filter(request_id=request_id).exists()
    monkeypatch.setattr(recorder, "_insert", real_insert)
    assert recorder.drain() == 1
    assert Invocation.objects.get(request_id=request_id).status == Invocation.Status.SUCCEEDED
    assert redis_client.client().llen(private_records) == 0


def test_the_recorder_backs_off_and_logs_while_writes_fail(monkeypatch, caplog):
    outcomes = [OperationalError("database is locked")] * 3 + [1, 0]
    waits: list[float] = []

    def drain():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(recorder, "drain", drain)
    monkeypatch.setattr(recorder, "_sleep_unless", lambda stop, seconds: waits.append(seconds))
    monkeypatch.setattr(recorder.time, "sleep", lambda seconds: None)
    with caplog.at_level(logging.WARNING, logger="executor.recorder"):
        recorder.run_forever(stop=lambda: not outcomes)
    assert waits == [0.5, 1.0, 2.0]
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("recording failed")]
    assert len(failures) == 3 and "database is locked" in failures[0] and "kept queued" in failures[0]
    assert any("works again after 3 failure(s)" in r.getMessage() for r in caplog.records)


def test_backoff_doubles_up_to_a_cap():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(50) == 30.0


def test_a_write_is_retried_until_the_database_takes_it(caplog):
    calls, waits = [], []

    def write():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("database is locked")
        return "written"

    assert with_retries(write, "writing", sleep=waits.append) == "written"
    assert waits == [0.5, 1.0]
    assert sum("writing failed (database is locked); retrying" in r.getMessage() for r in caplog.records) == 2


def test_a_write_that_keeps_failing_raises_and_a_constraint_violation_is_not_retried():
    waits: list[float] = []

    def locked():
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError):
        with_retries(locked, "writing", attempts=3, sleep=waits.append)
    assert waits == [0.5, 1.0]

    def duplicate():
        raise IntegrityError("UNIQUE constraint failed")

    with pytest.raises(IntegrityError):
        with_retries(duplicate, "writing", sleep=waits.append)
    assert waits == [0.5, 1.0]


def test_a_record_the_database_refuses_is_dropped_with_a_warning_naming_it(
        transactional_db, alice_account, private_records, caplog):
    kept = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    gone = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    written, refused = queue_record(kept), queue_record(gone)
    gone.delete()  # its record can no longer be written (its function's row is what it points to)
    with caplog.at_level(logging.WARNING, logger="executor.recorder"):
        assert recorder.drain() == 2
    assert Invocation.objects.filter(request_id=written).exists()
    assert not Invocation.objects.filter(request_id=refused).exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(refused in message for message in warnings), warnings
