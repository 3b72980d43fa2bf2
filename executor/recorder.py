"""Writes synchronous invocations' rows and log lines in batches, off the hot path.

The caller has its answer before anything is written. One thread drains a queue and
writes whatever has piled up in a single transaction, so that under load a hundred
invocations cost one commit instead of a hundred. The queue is flushed when the worker
stops; a worker killed outright loses at most the rows of the last few milliseconds.
"""
from __future__ import annotations

import logging
import queue
import threading

from django.db import IntegrityError, close_old_connections, transaction

from console.models import Invocation, LogEvent

log = logging.getLogger(__name__)

MAX_BATCH = 500

_queue: "queue.SimpleQueue[tuple[Invocation, list[LogEvent]]]" = queue.SimpleQueue()
_idle = threading.Event()
_idle.set()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def add(invocation: Invocation, events: list[LogEvent]) -> None:
    _ensure_started()
    _idle.clear()
    _queue.put((invocation, events))


def _ensure_started() -> None:
    global _thread
    if _thread is not None:
        return
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, daemon=True, name="invocation-recorder")
            _thread.start()


def _run() -> None:
    while True:
        batch = [_queue.get()]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(_queue.get_nowait())
            except queue.Empty:
                break
        _write(batch)
        if _queue.empty():
            _idle.set()


def _write(batch: list[tuple[Invocation, list[LogEvent]]]) -> None:
    try:
        _insert(batch)
        return
    except IntegrityError:
        pass  # a function deleted meanwhile: write the rest one by one
    except Exception:
        log.exception("could not record %d invocations at once; trying one by one", len(batch))
        close_old_connections()
    for item in batch:
        try:
            _insert([item])
        except IntegrityError:
            log.debug("not recording %s: its function is gone", item[0].request_id)
        except Exception:
            log.exception("could not record invocation %s", item[0].request_id)
            close_old_connections()


def _insert(batch: list[tuple[Invocation, list[LogEvent]]]) -> None:
    with transaction.atomic():
        Invocation.objects.bulk_create([invocation for invocation, _ in batch])
        LogEvent.objects.bulk_create([event for _, events in batch for event in events])


def flush(timeout: float = 10.0) -> bool:
    """Wait until everything queued is written; True if it was."""
    return _idle.wait(timeout)
