"""The console's business rules: encryption at rest, versions, aliases, code files, metrics."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from console.errors import InvalidParameterValue, ResourceConflict
from console.models import Function, Invocation
from console.services.code import function_files, function_files_update
from console.services.functions import function_update_configuration
from console.services.monitoring import function_metrics
from console.services import saved_events
from console.services.versions import alias_create, alias_update, version_publish
from executor.spec_builder import resolve_version

from .conftest import python_function

SRC = "def lambda_handler(e, c):\n    return 1\n"


def test_environment_is_encrypted_at_rest(alice_account):
    fn = python_function(alice_account, SRC, environment={"DB_PASSWORD": "hunter2-secret"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT environment FROM console_function WHERE id = %s", [fn.pk])
        raw = cursor.fetchone()[0]
    assert "hunter2-secret" not in raw and "DB_PASSWORD" not in raw
    assert Function.objects.get(pk=fn.pk).environment == {"DB_PASSWORD": "hunter2-secret"}


def test_published_versions_keep_the_environment_encrypted(alice_account):
    fn = python_function(alice_account, SRC, environment={"TOKEN": "plain-token-value"})
    version = version_publish(fn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT environment FROM console_version WHERE id = %s", [version.pk])
        assert "plain-token-value" not in cursor.fetchone()[0]
    assert version.environment == {"TOKEN": "plain-token-value"}


def test_version_publish_snapshots_and_skips_unchanged(alice_account):
    fn = python_function(alice_account, SRC, memory_size=256)
    v1 = version_publish(fn, "first")
    assert (v1.number, v1.memory_size, v1.description, v1.code_sha256) == (1, 256, "first", fn.code_sha256)
    assert version_publish(fn).number == 1  # nothing changed
    function_update_configuration(fn, memory_size=512)
    v2 = version_publish(fn)
    v1.refresh_from_db()
    assert (v2.number, v2.memory_size, v1.memory_size) == (2, 512, 256)


def test_resolve_version_follows_aliases_and_weights(alice_account):
    fn = python_function(alice_account, SRC)
    version_publish(fn)
    function_update_configuration(fn, memory_size=512)
    version_publish(fn)
    alias = alias_create(fn, "live", "1")
    version, config = resolve_version(fn, "live")
    assert version == "1" and config.memory_size == 128
    alias_update(alias, "1", routing_config={"2": 0.5})
    picks = Counter(resolve_version(fn, "live")[0] for _ in range(400))
    assert set(picks) == {"1", "2"} and 120 < picks["2"] < 280


def test_alias_rules(alice_account):
    fn = python_function(alice_account, SRC)
    with pytest.raises(InvalidParameterValue):
        alias_create(fn, "123", "$LATEST")  # only digits would shadow a version
    with pytest.raises(InvalidParameterValue):
        alias_create(fn, "live", "7")
    alias_create(fn, "live", "$LATEST")
    with pytest.raises(ResourceConflict):
        alias_create(fn, "live", "$LATEST")


def test_function_files_update_keeps_executable_bits_and_binary_files(alice_account):
    from console.codestore import make_zip
    from console.services.functions import function_create

    fn = function_create(alice_account, "custom", runtime="provided.al2023", handler="x.y",
                         zip_file=make_zip({"bootstrap": "#!/bin/sh\n", "blob.bin": b"\x00\x01"},
                                           executable=("bootstrap",)))
    files = {f.path: f for f in function_files(fn)}
    assert files["bootstrap"].executable and files["blob.bin"].content is None
    function_files_update(fn, [{"path": "bootstrap", "content": "#!/bin/sh\necho hi\n"},
                               {"path": "blob.bin", "binary": True}])
    files = {f.path: f for f in function_files(fn)}
    assert files["bootstrap"].executable and files["bootstrap"].content.endswith("echo hi\n")
    assert "blob.bin" in files


def test_event_json_errors_name_the_line():
    with pytest.raises(InvalidParameterValue, match="line 3"):
        saved_events.parse_event_json('{\n "a": 1\n "b": 2}')


def test_someone_elses_private_event_name_is_taken(alice, charlie, alice_account):
    from console.services.accounts import user_create

    fn = python_function(alice_account, SRC)
    bob = user_create("bob", "bob-password-1", account=alice_account)
    saved_events.test_event_save(fn, alice, "ev", "{}")
    with pytest.raises(ResourceConflict):
        saved_events.test_event_save(fn, bob, "ev", '{"x": 1}')


def test_metrics_count_invocations_errors_and_concurrency(alice_account):
    fn = python_function(alice_account, SRC)
    now = timezone.now()
    for offset, status in ((0, "succeeded"), (0.1, "failed"), (0.2, "succeeded"), (0.3, "throttled")):
        started = now - dt.timedelta(seconds=30 - offset)
        Invocation.objects.create(function=fn, status=status, started=started, duration_ms=1000,
                                  finished=started + dt.timedelta(seconds=1))
    data = function_metrics(fn, "1h", now=now)
    assert data["totals"] == {"invocations": 3, "errors": 1, "throttles": 1}
    assert max(data["concurrent_executions"]) == 3
    assert max(v for v in data["duration_max"] if v is not None) == 1000


def test_ensure_admin_creates_the_first_user_once(db, monkeypatch, capsys):
    from django.contrib.auth import authenticate
    from django.contrib.auth.models import User
    from django.core.management import call_command

    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_admin")
    password = capsys.readouterr().out.split("password: ")[1].split()[0]
    admin = authenticate(username="admin", password=password)
    assert admin is not None and admin.is_superuser and admin.membership.account.account_id
    call_command("ensure_admin")
    assert User.objects.count() == 1 and "password" not in capsys.readouterr().out


def test_ensure_admin_uses_the_environment(db, monkeypatch):
    from django.contrib.auth import authenticate
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-password")
    call_command("ensure_admin")
    assert authenticate(username="root", password="a-long-password") is not None
