"""Synchronous invocations' rows and log lines, written by a process of their own.

The worker adds each finished invocation's record to a Redis list, in the same round
trip that answers the caller; the recorder process (`manage.py run_recorder`) writes
whatever has piled up in one transaction. Database work thus costs the worker, whose
Python threads share one interpreter lock, nothing at all, and a record survives the
worker that made it. A record is removed from the list only after its transaction has
committed; one written twice after a crash is recognised by its request id and skipped.
A write the database refuses (locked past its timeout, disk full) leaves the records queued
and is tried again with a growing pause, each failure logged.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

from django.db import IntegrityError, close_old_connections, transaction

from console.models import Invocation, LogEvent

from . import redis_client
from .dbwrite import backoff
from .result import InvokeResult

log = logging.getLogger(__name__)

RECORDS_KEY = "lambda:records"
LOCK_KEY = "lambda:records:lock"
MAX_BATCH = 500
# A recorder killed while it holds the lock holds it this long: the next waits at most so much.
# Longer writes (a database locked by another writer) may let a second recorder in; the
# request-id check in _write skips what the first one wrote.
LOCK_SECONDS = 5
BATCH_PAUSE = 0.05  # seconds


def encode(result: InvokeResult, row: dict, lines: list[tuple[int, str]]) -> str:
    """One record as the worker queues it: the Invocation's columns (those the result decides,
    and `row`, the others, as plain values) and its log lines. The payload stays out: the row
    keeps its size only."""
    return json.dumps({"invocation": {**row, **result.row_fields()}, "lines": lines})


def drain(max_batch: int = MAX_BATCH) -> int:
    """Write up to `max_batch` queued records; the number written (0: none, or busy elsewhere)."""
    r = redis_client.client()
    token = str(time.monotonic())
    if not r.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        return 0  # another recorder is writing; records stay in order for it
    try:
        items = r.lrange(RECORDS_KEY, 0, max_batch - 1)
        if not items:
            return 0
        _write([json.loads(item) for item in items])
        r.ltrim(RECORDS_KEY, len(items), -1)
        return len(items)
    finally:
        if r.get(LOCK_KEY) == token.encode():
            r.delete(LOCK_KEY)


def _rows(record: dict) -> tuple[Invocation, list[LogEvent]]:
    fields = record["invocation"]
    invocation = Invocation(**fields)
    events = [
        LogEvent(function_id=fields["function_id"], request_id=fields["request_id"],
                 log_stream_name=fields["log_stream_name"], sequence=index, message=message,
                 timestamp=dt.datetime.fromtimestamp(stamp / 1000, tz=dt.timezone.utc))
        for index, (stamp, message) in enumerate(record["lines"])
    ]
    return invocation, events


def _write(records: list[dict]) -> None:
    close_old_connections()
    ids = [record["invocation"]["request_id"] for record in records]
    done = {str(rid) for rid in Invocation.objects.filter(request_id__in=ids).values_list("request_id", flat=True)}
    batch = [_rows(record) for record in records if record["invocation"]["request_id"] not in done]
    try:
        _insert(batch)
        return
    except IntegrityError:
        pass  # a function deleted meanwhile: write the rest one by one
    for item in batch:
        try:
            _insert([item])
        except IntegrityError as exc:
            # Its function deleted since, most likely; whatever the reason, a record dropped is said.
            log.warning("not recording invocation %s (was its function deleted?): %s", item[0].request_id, exc)


def _insert(batch: list[tuple[Invocation, list[LogEvent]]]) -> None:
    with transaction.atomic():
        Invocation.objects.bulk_create([invocation for invocation, _ in batch])
        LogEvent.objects.bulk_create([event for _, events in batch for event in events])


def _queued() -> int | str:
    try:
        return redis_client.client().llen(RECORDS_KEY)
    except Exception:  # Redis is what failed
        return "?"


def _sleep_unless(stop, seconds: float) -> None:
    """Sleep, but not through a request to stop (the backoff may reach half a minute)."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))


def run_forever(stop=lambda: False) -> None:
    """The recorder process's loop: drain, and let records pile up a little between writes.

    Each write has a fixed cost (a lock, a transaction, a query for duplicates), so under
    load a short pause between small batches saves more than it delays: records are
    written at most BATCH_PAUSE late, and the pause grows while nothing comes.
    """
    idle_for = 0
    failures = 0
    while not stop():
        try:
            written = drain()
        except Exception as exc:  # the database (locked, full, down) or Redis: the records stay queued
            failures += 1
            delay = backoff(failures)
            log.error("recording failed (%d time(s) in a row; %s records kept queued), retrying in %.1f s: %s",
                      failures, _queued(), delay, exc, exc_info=failures == 1)
            close_old_connections()
            _sleep_unless(stop, delay)
            continue
        if failures:
            log.warning("recording works again after %d failure(s)", failures)
            failures = 0
        if written >= MAX_BATCH:
            continue  # a backlog: keep writing
        if written:
            idle_for = 0
            time.sleep(BATCH_PAUSE)
            continue
        idle_for = min(idle_for + 1, 2)
        time.sleep(BATCH_PAUSE * idle_for)  # up to 0.1 s when idle
