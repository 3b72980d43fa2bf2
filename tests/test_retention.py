"""Log retention and housekeeping: expired log lines, old invocation rows and unused code go.

The retention values are CloudWatch Logs' (PutRetentionPolicy, retentionInDays:
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from console import codestore
from console.codestore import make_zip, store_zip
from console.errors import InvalidParameterValue
from console.models import Function, Invocation, LogEvent, Version
from console.services import retention
from console.services.logs import function_set_log_retention
from console.validators import validate_log_retention

from .conftest import ROOT, eventually, python_function

HELLO = "def lambda_handler(event, context):\n    return 'hi'\n"
NOW = timezone.now()
HOUR = 3600


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def line(function: Function, when: dt.datetime, message: str) -> LogEvent:
    return LogEvent.objects.create(function=function, log_stream_name="2024/01/01/[$LATEST]abc", timestamp=when,
                                   message=message)


def invocation(function: Function, *, started: dt.datetime, status: str = Invocation.Status.SUCCEEDED,
               **fields) -> Invocation:
    return Invocation.objects.create(function=function, status=status, started=started,
                                     received=fields.pop("received", started), **fields)


@pytest.fixture
def code_root(settings, tmp_path, db):
    """A code store of the test's own, so other tests' code is not in play."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / "code"


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# --- The retention setting's values ---------------------------------------------------------

def test_retention_takes_cloudwatch_values_or_none():
    assert validate_log_retention(7) == 7 and validate_log_retention("3653") == 3653
    assert validate_log_retention(None) is None and validate_log_retention("") is None


@pytest.mark.parametrize("bad", [2, 0, -1, 4000, 7.0, True, "7 days", "1e3", [7]])
def test_retention_refuses_values_cloudwatch_refuses(bad):
    with pytest.raises(InvalidParameterValue, match="Member must satisfy enum value set: \\[1, 3, 5, 7, 14"):
        validate_log_retention(bad)


def test_refused_retention_changes_nothing(alice_account):
    fn = python_function(alice_account, HELLO)
    function_set_log_retention(fn, 14)
    with pytest.raises(InvalidParameterValue):
        function_set_log_retention(fn, 15)
    fn.refresh_from_db()
    assert fn.log_retention_days == 14


# --- Log lines --------------------------------------------------------------------------------

def test_expired_log_lines_go_and_the_rest_stay(alice_account):
    day = python_function(alice_account, HELLO, name="one-day")
    month = python_function(alice_account, HELLO, name="one-month")
    forever = python_function(alice_account, HELLO, name="forever")
    function_set_log_retention(day, 1)
    function_set_log_retention(month, 30)
    line(day, days_ago(2), "day old")
    line(day, days_ago(0.5), "day new")
    line(month, days_ago(31), "month old")
    line(month, days_ago(29), "month new")
    line(forever, days_ago(4000), "forever old")

    assert retention.expired_log_events_delete(NOW) == 2
    assert set(LogEvent.objects.values_list("message", flat=True)) == {"day new", "month new", "forever old"}


def test_log_lines_are_deleted_in_batches(alice_account, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    fn = python_function(alice_account, HELLO)
    function_set_log_retention(fn, 1)
    LogEvent.objects.bulk_create([LogEvent(function=fn, log_stream_name="s", timestamp=days_ago(2), message=str(i))
                                  for i in range(10)])
    line(fn, NOW, "today")
    assert retention.expired_log_events_delete(NOW) == 10
    assert list(LogEvent.objects.values_list("message", flat=True)) == ["today"]


# --- Invocation rows ----------------------------------------------------------------------------

def test_old_invocations_go_unless_queued_or_running(alice_account, settings):
    settings.LAMBDA_INVOCATION_RETENTION_DAYS = 30
    fn = python_function(alice_account, HELLO)
    gone = [invocation(fn, started=days_ago(31)),
            invocation(fn, started=days_ago(40), status=Invocation.Status.FAILED, error_type="Unhandled"),
            invocation(fn, started=days_ago(31), status=Invocation.Status.THROTTLED)]
    kept = [invocation(fn, started=days_ago(29)),
            invocation(fn, started=days_ago(60), status=Invocation.Status.QUEUED, invocation_type="Event"),
            invocation(fn, started=days_ago(60), status=Invocation.Status.RUNNING, invocation_type="Event")]

    assert retention.old_invocations_delete(NOW) == len(gone)
    assert set(Invocation.objects.values_list("pk", flat=True)) == {i.pk for i in kept}


def test_dead_lettered_events_have_their_own_retention(alice_account, settings):
    settings.LAMBDA_INVOCATION_RETENTION_DAYS = 1
    settings.LAMBDA_DEAD_LETTER_RETENTION_DAYS = 14
    fn = python_function(alice_account, HELLO)
    expired = invocation(fn, started=days_ago(15), status=Invocation.Status.FAILED, dead_lettered=True,
                         invocation_type="Event")
    listed = invocation(fn, started=days_ago(10), status=Invocation.Status.FAILED, dead_lettered=True,
                        invocation_type="Event")

    assert retention.old_invocations_delete(NOW) == 1
    assert list(Invocation.objects.values_list("pk", flat=True)) == [listed.pk]
    assert not Invocation.objects.filter(pk=expired.pk).exists()


# --- Unpacked code ------------------------------------------------------------------------------

def test_unused_code_goes_after_the_grace_period(alice_account, code_root):
    used = python_function(alice_account, HELLO)
    unused = store_zip(make_zip({"lambda_function.py": "# an old revision\n"}))
    for sha in (used.code_sha256, unused.sha256):
        age(codestore.code_dir(sha), 2 * HOUR)

    # The first pass only notes since when the code is unused; a running invocation may have it mounted.
    assert retention.unused_code_delete(grace=HOUR) == 0
    assert codestore.code_dir(unused.sha256).is_dir() and codestore.unused_mark(unused.sha256).exists()
    assert not codestore.unused_mark(used.code_sha256).exists()

    age(codestore.unused_mark(unused.sha256), 2 * HOUR)
    assert retention.unused_code_delete(grace=HOUR) == 1
    assert not codestore.code_dir(unused.sha256).exists() and not codestore.zip_path(unused.sha256).exists()
    assert (codestore.code_dir(used.code_sha256) / "lambda_function.py").exists()
    assert codestore.zip_path(used.code_sha256).exists()


def test_freshly_unpacked_code_is_kept(code_root):
    # A create that just unpacked its zip has no function row yet.
    fresh = store_zip(make_zip({"lambda_function.py": "# new\n"}))
    codestore.unused_mark(fresh.sha256).parent.mkdir(parents=True, exist_ok=True)
    codestore.unused_mark(fresh.sha256).touch()
    age(codestore.unused_mark(fresh.sha256), 2 * HOUR)
    assert retention.unused_code_delete(grace=HOUR) == 0
    assert codestore.code_dir(fresh.sha256).is_dir()


def test_uploading_unused_code_again_claims_it(code_root):
    data = make_zip({"lambda_function.py": "# comes back\n"})
    stored = store_zip(data)
    age(codestore.code_dir(stored.sha256), 2 * HOUR)
    retention.unused_code_delete(grace=HOUR)
    age(codestore.unused_mark(stored.sha256), 2 * HOUR)

    store_zip(data)  # a new function with the same zip, its row not yet committed

    assert not codestore.unused_mark(stored.sha256).exists()
    assert retention.unused_code_delete(grace=HOUR) == 0
    assert codestore.code_dir(stored.sha256).is_dir()


def test_code_of_a_version_is_kept(alice_account, code_root):
    fn = python_function(alice_account, HELLO)
    Version.objects.create(function=fn, number=1, runtime=fn.runtime, handler=fn.handler,
                           code_sha256=fn.code_sha256, code_size=fn.code_size)
    old_sha = fn.code_sha256
    fn.code_sha256 = store_zip(make_zip({"lambda_function.py": "# v2\n"})).sha256
    fn.save()
    age(codestore.code_dir(old_sha), 2 * HOUR)
    for _ in range(2):
        retention.unused_code_delete(grace=HOUR)
    assert codestore.code_dir(old_sha).is_dir() and not codestore.unused_mark(old_sha).exists()


def test_a_crashed_unpack_is_cleaned_up(code_root):
    code_root.mkdir(parents=True)
    crashed, busy = code_root / ".unpack-crashed", code_root / ".unpack-busy"
    for staging in (crashed, busy):
        staging.mkdir()
        (staging / "half.py").write_text("#")
    age(crashed, 2 * HOUR)
    retention.unused_code_delete(grace=HOUR)
    assert not crashed.exists() and busy.exists()


def test_housekeeping_is_scheduled_hourly(settings):
    from console.celery import app
    from console.tasks import housekeeping

    entry = settings.CELERY_BEAT_SCHEDULE["housekeeping"]
    assert entry["schedule"] == 3600.0 and app.tasks[entry["task"]].name == housekeeping.name


# --- Through the real paths -----------------------------------------------------------------------

@pytest.mark.integration
def test_the_worker_runs_housekeeping(worker, alice_account, settings):
    """The periodic task, sent as beat sends it, deletes expired rows and unused code on a worker."""
    from console.tasks import housekeeping

    fn = python_function(alice_account, HELLO)
    function_set_log_retention(fn, 7)
    line(fn, days_ago(8), "expired")
    line(fn, days_ago(1), "recent")
    old = invocation(fn, started=days_ago(settings.LAMBDA_INVOCATION_RETENTION_DAYS + 1))
    queued = invocation(fn, started=days_ago(60), status=Invocation.Status.QUEUED, invocation_type="Event",
                        due=timezone.now() + dt.timedelta(days=1))
    # Code no revision has used for two hours, in the worker's own code store.
    unused = store_zip(make_zip({"lambda_function.py": f"# {uuid.uuid4()}\n"}))
    mark = codestore.unused_mark(unused.sha256)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    for path in (codestore.code_dir(unused.sha256), mark):
        age(path, settings.LAMBDA_CODE_GRACE_SECONDS + HOUR)

    housekeeping.delay()

    eventually(lambda: not codestore.code_dir(unused.sha256).exists() or None, timeout=30)
    eventually(lambda: not LogEvent.objects.filter(message="expired").exists() or None, timeout=10)
    assert list(LogEvent.objects.values_list("message", flat=True)) == ["recent"]
    assert not Invocation.objects.filter(pk=old.pk).exists() and Invocation.objects.filter(pk=queued.pk).exists()
    assert (codestore.code_dir(fn.code_sha256) / "lambda_function.py").exists()


@pytest.mark.integration
def test_operators_run_housekeeping_from_manage_py(transactional_db, alice_account, tmp_path):
    from django.db import connection

    fn = python_function(alice_account, HELLO)
    function_set_log_retention(fn, 1)
    line(fn, days_ago(2), "expired")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "SQLITE_PATH": connection.settings_dict["NAME"], "MEDIA_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "manage.py", "housekeeping"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "removed 1 log lines" in done.stdout
    assert not LogEvent.objects.exists()


# --- The console's setting ----------------------------------------------------------------------

@pytest.fixture
def fn(alice_account):
    return python_function(alice_account, HELLO, name="hello")


def test_logging_section_shows_the_retention_choices(alice_client, fn):
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=logging").content.decode()
    assert "Logging configuration" in page and "Log retention" in page
    assert '<option value="" selected>Never expire</option>' in page
    assert '<option value="7">1 week</option>' in page and '<option value="3653">10 years</option>' in page


def test_owner_sets_and_clears_the_retention(alice_client, fn):
    url = reverse("function-configuration-update", args=["hello", "logging"])
    response = alice_client.post(url, {"log_retention_days": "14"})
    assert response.status_code == 302
    fn.refresh_from_db()
    assert fn.log_retention_days == 14
    page = alice_client.get(response.url).content.decode()
    assert '<option value="14" selected>2 weeks</option>' in page
    alice_client.post(url, {"log_retention_days": ""})
    fn.refresh_from_db()
    assert fn.log_retention_days is None


@pytest.mark.parametrize("bad", ["2", "abc", "-7", "99999999999999999"])
def test_a_bad_retention_is_refused_beside_the_field(alice_client, fn, bad):
    function_set_log_retention(fn, 30)
    response = alice_client.post(reverse("function-configuration-update", args=["hello", "logging"]),
                                 {"log_retention_days": bad})
    page = response.content.decode()
    assert response.status_code == 400 and "has-error" in page
    if len(bad) <= 16:  # longer ones stop at the form's length check
        assert "Member must satisfy enum value set" in page
    fn.refresh_from_db()
    assert fn.log_retention_days == 30


def test_another_account_cannot_see_or_set_the_retention(charlie_client, fn):
    assert charlie_client.get(reverse("function-configuration", args=["hello"]) + "?section=logging").status_code == 404
    response = charlie_client.post(reverse("function-configuration-update", args=["hello", "logging"]),
                                   {"log_retention_days": "1"})
    assert response.status_code == 404
    fn.refresh_from_db()
    assert fn.log_retention_days is None


@pytest.mark.browser
@pytest.mark.integration
def test_retention_is_set_from_the_configuration_tab(alice_page, alice_account):
    from playwright.sync_api import expect

    python_function(alice_account, HELLO, name="kept-a-week")
    page = alice_page
    page.goto("/functions/kept-a-week/configuration")
    page.get_by_role("link", name="Logging configuration").click()
    select = page.get_by_label("Log retention")
    expect(select).to_have_value("")  # Never expire, CloudWatch's default
    select.select_option(label="1 week")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("Successfully updated the function kept-a-week")
    expect(page.get_by_label("Log retention")).to_have_value("7")
    assert Function.objects.get(name="kept-a-week").log_retention_days == 7


def test_logs_tab_names_the_retention(alice_client, fn):
    url = reverse("function-logs", args=["hello"])
    assert "Retention: <a" in alice_client.get(url).content.decode()
    assert "Never expire</a>" in alice_client.get(url).content.decode()
    function_set_log_retention(fn, 545)
    assert "18 months</a>" in alice_client.get(url).content.decode()


def test_housekeeping_removes_what_unfinished_s3_uploads_left_behind(db):
    # A crash mid-upload leaves the upload's temporary file (never a half object under a key):
    # housekeeping removes it once it is a day old, and leaves uploads still in progress alone.
    from console.s3 import storage

    # (Past the writer's in-memory spool: a smaller upload has no temporary file until it commits.)
    with storage.BlobWriter() as writer:
        writer.write(b"half of a photo" * storage.SPOOL)
        stale = writer._file.name
        writer._file.flush()
        os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
        with storage.BlobWriter() as current:
            current.write(b"still arriving" * storage.SPOOL)
            report = retention.housekeeping_run()
            assert report.s3_temporary == 1
            assert not os.path.exists(stale) and os.path.exists(current._file.name)
