"""Housekeeping: what expired is deleted, so logs, invocation rows and code stay bounded.

Three rules, each a plain function that the periodic task (console.tasks.housekeeping) and
`manage.py housekeeping` call:

- log lines older than their function's log retention (None: kept until the function goes);
- invocation rows done for longer than LAMBDA_INVOCATION_RETENTION_DAYS; queued and running
  ones never, dead-lettered failed events after LAMBDA_DEAD_LETTER_RETENTION_DAYS;
- unpacked code (and its zip) that no function or version has used for
  LAMBDA_CODE_GRACE_SECONDS.

Rows go in batches of their primary keys, each batch its own short transaction, so a large
table never holds SQLite's write lock for long and the recorder's writes get in between.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils import timezone

from .. import codestore
from ..models import Function, Invocation, LogEvent, Version
from ..s3 import storage as s3_storage

log = logging.getLogger(__name__)

BATCH = 2000  # rows per DELETE: milliseconds of lock on SQLite
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
FINISHED = (Invocation.Status.SUCCEEDED, Invocation.Status.FAILED, Invocation.Status.THROTTLED)


@dataclass
class HousekeepingReport:
    log_events: int = 0
    invocations: int = 0
    code: int = 0
    s3_temporary: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def housekeeping_run(now: dt.datetime | None = None) -> HousekeepingReport:
    """Apply every retention rule once; return how much each removed."""
    now = now or timezone.now()
    report = HousekeepingReport(
        log_events=expired_log_events_delete(now),
        invocations=old_invocations_delete(now),
        code=unused_code_delete(),
        s3_temporary=s3_storage.sweep_temporary(),
    )
    if report.log_events or report.invocations or report.code or report.s3_temporary:
        log.info("housekeeping removed %(log_events)d log lines, %(invocations)d invocations, "
                 "%(code)d unused code packages, %(s3_temporary)d unfinished S3 uploads' files", report.as_dict())
    return report


def _delete_in_batches(queryset: QuerySet, model: type[Model]) -> int:
    deleted = 0
    while True:
        batch = list(queryset.order_by().values_list("pk", flat=True)[:BATCH])
        if not batch:
            return deleted
        # Neither model has rows pointing at it, so this is one plain DELETE per batch.
        deleted += model.objects.filter(pk__in=batch).delete()[0]


def expired_log_events_delete(now: dt.datetime | None = None) -> int:
    """Log lines older than their function's retention; functions that never expire keep all."""
    now = now or timezone.now()
    deleted = 0
    retentions = (Function.objects.filter(log_retention_days__isnull=False)
                  .values_list("log_retention_days", flat=True).distinct())
    for days in sorted(set(retentions)):
        expired = LogEvent.objects.filter(function__log_retention_days=days,
                                          timestamp__lt=now - dt.timedelta(days=days))
        deleted += _delete_in_batches(expired, LogEvent)
    return deleted


def old_invocations_delete(now: dt.datetime | None = None) -> int:
    """Invocation rows done long ago; an event still queued or running is never touched."""
    now = now or timezone.now()
    done_before = now - dt.timedelta(days=settings.LAMBDA_INVOCATION_RETENTION_DAYS)
    old = Invocation.objects.filter(status__in=FINISHED, dead_lettered=False, started__lt=done_before)
    deleted = _delete_in_batches(old, Invocation)
    # A failed event kept for the console's list of failed events counts from its arrival,
    # as a message in a dead-letter queue does.
    arrived_before = now - dt.timedelta(days=settings.LAMBDA_DEAD_LETTER_RETENTION_DAYS)
    dead = Invocation.objects.filter(status=Invocation.Status.FAILED, dead_lettered=True,
                                     received__lt=arrived_before)
    return deleted + _delete_in_batches(dead, Invocation)


def unused_code_delete(grace: float | None = None) -> int:
    """Unpacked code and its zip that no revision has used for `grace` seconds.

    Two clocks guard code that is still wanted. The directory's mtime is refreshed by every
    upload that claims it (codestore.store_zip), so code whose function row is not yet
    committed is left alone. The "unused since" mark is made the first time a pass finds
    the code unused and removed by any claim, so code is deleted only once it has been
    unused for the whole grace period: an invocation that started before its function
    moved to other code still has it mounted, and the grace exceeds the longest timeout.
    """
    grace = settings.LAMBDA_CODE_GRACE_SECONDS if grace is None else grace
    root = codestore.code_root()
    if not root.is_dir():
        return 0
    on_disk = {name for entry in root.iterdir()
               if SHA256_RE.match(name := entry.name.removesuffix(".zip"))}
    marks = root / ".unused"
    marks.mkdir(exist_ok=True)
    deleted = 0
    used = _used_code()
    for mark in marks.iterdir():
        if mark.name in used or mark.name not in on_disk:
            mark.unlink(missing_ok=True)  # used again, or gone
    for sha in sorted(on_disk - used):
        if _delete_if_unused(sha, grace):
            deleted += 1
    _remove_stale_staging(root, grace)
    return deleted


def _used_code() -> set[str]:
    return (set(Function.objects.exclude(code_sha256="").values_list("code_sha256", flat=True))
            | set(Version.objects.exclude(code_sha256="").values_list("code_sha256", flat=True)))


def _in_use(sha: str) -> bool:
    return Function.objects.filter(code_sha256=sha).exists() or Version.objects.filter(code_sha256=sha).exists()


def _delete_if_unused(sha: str, grace: float) -> bool:
    directory, archive, mark = codestore.code_dir(sha), codestore.zip_path(sha), codestore.unused_mark(sha)
    cutoff = time.time() - grace
    trash = directory.with_name(f".trash-{sha}")
    with codestore.code_lock(exclusive=True):
        # No upload can claim it while we hold the lock; ask the database again under it.
        if _in_use(sha):
            mark.unlink(missing_ok=True)
            return False
        claimed = _mtime(directory)
        if claimed is not None and claimed > cutoff:
            return False  # an upload claimed it lately: its function may not be committed yet
        since = _mtime(mark)
        if since is None:
            mark.touch()  # unused from now on; deleted on a pass a grace period later
            return False
        if since > cutoff:
            return False
        mark.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
        if directory.exists():
            # Renamed under the lock, removed after it: an upload of the same zip meanwhile
            # unpacks a fresh copy instead of finding a half-deleted one.
            shutil.rmtree(trash, ignore_errors=True)  # a crashed pass's leftovers
            directory.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _remove_stale_staging(root: Path, grace: float) -> None:
    """Unpacking that a crashed process left behind, and trash a crashed pass left."""
    cutoff = time.time() - grace
    with codestore.code_lock(exclusive=True):  # no upload is unpacking while we hold it
        stale = [entry for entry in root.iterdir()
                 if entry.name.startswith((".unpack-", ".trash-")) and (_mtime(entry) or cutoff) < cutoff]
    for entry in stale:
        shutil.rmtree(entry, ignore_errors=True)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None
