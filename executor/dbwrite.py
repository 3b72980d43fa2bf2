"""Writes the executor must not lose: retried with backoff while the database fails.

A write that fails (SQLite busy past its timeout, a full disk, PostgreSQL restarting) is
logged and tried again, never dropped: an event's row that stayed `running` would never
run again, and a result that was never written would be run a second time by nobody.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from django.db import DatabaseError, IntegrityError, close_old_connections, connection

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.5  # seconds
MAX_DELAY = 30.0
ATTEMPTS = 8  # about two minutes of waits, plus the database's own timeout on each try


def backoff(failures: int) -> float:
    """Seconds to wait after the `failures`-th failure in a row (1, 2, ...): doubling, capped."""
    return min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, failures - 1))


def with_retries(write: Callable[[], T], what: str, attempts: int = ATTEMPTS,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """`write()`, tried again after a database error (not a constraint violation: that one
    would fail every time); the last error is raised once `attempts` have failed."""
    for failure in range(1, attempts + 1):
        try:
            return write()
        except IntegrityError:
            raise
        except DatabaseError as exc:
            if failure == attempts:
                log.error("%s failed %d times; giving up: %s", what, failure, exc)
                raise
            delay = backoff(failure)
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
            if not connection.in_atomic_block:
                close_old_connections()  # a broken connection is replaced, not reused
            sleep(delay)
    raise AssertionError("unreachable")
