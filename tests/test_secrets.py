"""Secrets: environment variables never cross Redis in clear, and the encryption keys rotate."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import redis
from celery import current_app
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from console.models import AccessKey, Function, Invocation, Version
from console.services.access_keys import access_key_create
from console.services.accounts import user_create
from console.services.functions import function_update_configuration
from console.services.versions import version_publish
from executor import redis_client
from executor.invoke import invoke
from executor.queues import reply_key
from executor.tasks import invoke_sync

from .conftest import ROOT, eventually, python_function

SECRET_HASHER = """
import hashlib
import os

def lambda_handler(event, context):
    # The value itself is never printed or returned: only its hash.
    return {"sha256": hashlib.sha256(os.environ["SECRET_TOKEN"].encode()).hexdigest()}
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- What crosses Redis and what it keeps ----------------------------------------------

def needles(secret: str) -> list[bytes]:
    """`secret` as it would appear in Redis: as is, or inside base64 at any of the three
    alignments (Kombu keeps a message's body as base64 inside its JSON envelope)."""
    raw = secret.encode()
    found = [raw]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 if shift else 0:-4])  # drop the groups mixed with other bytes
    return found


def holds(data: bytes, secret: str) -> bool:
    return any(needle in data for needle in needles(secret))


def redis_values(r: redis.Redis) -> Iterator[bytes]:
    """Every key and every value in the database, read by type (DUMP would hand back
    LZF-compressed strings, where a secret could hide from a substring search)."""
    for key in r.scan_iter(count=1000):
        yield key
        kind = r.type(key)
        if kind == b"string":
            yield r.get(key) or b""
        elif kind == b"list":
            yield from r.lrange(key, 0, -1)
        elif kind == b"hash":
            for field, value in r.hgetall(key).items():
                yield field
                yield value
        elif kind == b"set":
            yield from r.smembers(key)
        elif kind == b"zset":
            yield from r.zrange(key, 0, -1)
        elif kind == b"stream":
            for _id, fields in r.xrange(key):
                for field, value in fields.items():
                    yield field
                    yield value
        elif kind != b"none":  # b"none": expired since the scan saw it
            raise AssertionError(f"{key!r} has a type this scan cannot read: {kind!r}")


@contextmanager
def redis_traffic(url: str, path: Path) -> Iterator[Path]:
    """Every command the Redis of `url` receives meanwhile, written to `path` (MONITOR).

    A synchronous invocation's message lives in Redis only until a worker takes it, so a
    scan afterwards would miss it; its append-only file would not."""
    parsed = urlparse(url)
    env = {**os.environ, **({"REDISCLI_AUTH": unquote(parsed.password)} if parsed.password else {})}
    with open(path, "wb") as out:
        monitor = subprocess.Popen(["redis-cli", "-h", parsed.hostname, "-p", str(parsed.port or 6379), "monitor"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: b"OK" in path.read_bytes() or None, timeout=10)
            yield path
        finally:
            monitor.terminate()
            monitor.wait(timeout=10)


@pytest.mark.integration
def test_environment_values_never_reach_redis(worker, alice_account, tmp_path):
    r = redis.Redis.from_url(settings.REDIS_URL)
    canary = "canary-" + secrets.token_hex(20)
    secret = "s3cret-" + secrets.token_hex(20)
    second = "s3cret-" + secrets.token_hex(20)
    with redis_traffic(settings.REDIS_URL, tmp_path / "monitor.log") as traffic:
        # The watch itself sees into Celery's envelopes: a message holding a value in clear is seen.
        current_app.send_task("executor.tasks.invoke_sync", args=({"environment": {"X": canary}},),
                              queue="test-secrets-unread")
        r.delete("test-secrets-unread")

        fn = python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": secret})
        result = invoke(fn, "{}")
        assert json.loads(result.payload) == {"sha256": sha256(secret)}

        event = invoke(fn, "{}", invocation_type="Event")
        done = eventually(lambda: Invocation.objects.filter(
            request_id=event.request_id, status=Invocation.Status.SUCCEEDED).first(), timeout=30)
        assert json.loads(done.response) == {"sha256": sha256(secret)}

        # A version keeps its own copy of the variables; it is invoked through the same path.
        version = version_publish(fn)
        assert json.loads(invoke(fn, "{}", qualifier=str(version.number)).payload) == {"sha256": sha256(secret)}

        # A changed value reaches the function (its warm environment is not reused).
        function_update_configuration(fn, environment={"SECRET_TOKEN": second})
        assert json.loads(invoke(fn, "{}").payload) == {"sha256": sha256(second)}

        # The recorder has written the synchronous records once all four rows are there.
        eventually(lambda: Invocation.objects.filter(function=fn).count() == 4 or None, timeout=30)
    sent = traffic.read_bytes()
    assert holds(sent, canary)
    assert not holds(sent, secret) and not holds(sent, second)
    kept = [value[:200] for value in redis_values(r) if holds(value, secret) or holds(value, second)]
    assert kept == []


@pytest.mark.integration
def test_worker_refuses_a_spec_not_sealed_with_its_keys(worker, alice_account):
    """A message on Redis cannot choose what a container mounts: an unsealed or foreign spec
    is refused, and its caller hears so at once."""
    fn = python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": "x"})
    from executor.spec_builder import spec_for

    forged = {**spec_for(fn).to_dict(), "code_dir": "/etc"}
    for message in (forged, Fernet(Fernet.generate_key()).encrypt(json.dumps(forged).encode()).decode()):
        request_id = str(uuid.uuid4())
        invoke_sync.apply_async((message, request_id, base64.b64encode(b"{}").decode(), "api", "$LATEST"))
        reply = redis_client.client().blpop([reply_key(request_id)], timeout=30)
        assert reply is not None and json.loads(reply[1]) == {"error": ""}
    assert not Invocation.objects.filter(function=fn).exists()


# --- Keys and their rotation ----------------------------------------------------------

def stored(model, pk: int, column: str) -> str:
    """The raw text in the database, as the field's conversions would not show it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_keys_rotate_and_old_values_stay_readable(alice_account):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_a]):
        fn = python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": "under-a"})
        version = version_publish(fn)
        user = user_create("keyholder", "keyholder-password-1", account=alice_account)
        key, secret = access_key_create(user)
    under_a = stored(Function, fn.pk, "environment")

    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_b]):  # A is gone: its values are not readable
        with pytest.raises(ValueError):
            Function.objects.get(pk=fn.pk)

    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_b, key_a]):
        assert Function.objects.get(pk=fn.pk).environment == {"SECRET_TOKEN": "under-a"}
        out = StringIO()
        call_command("rotate_encryption_keys", "--batch-size", "1", stdout=out)
        report = out.getvalue()
        assert "console.Function.environment: 1 re-encrypted" in report
        assert "console.Version.environment: 1 re-encrypted" in report
        assert "console.AccessKey.secret: 1 re-encrypted" in report
        again = StringIO()
        call_command("rotate_encryption_keys", stdout=again)
        assert "console.Function.environment: 0 re-encrypted, 1 already current" in again.getvalue()

    assert stored(Function, fn.pk, "environment") != under_a
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_b]):
        assert Function.objects.get(pk=fn.pk).environment == {"SECRET_TOKEN": "under-a"}
        assert Version.objects.get(pk=version.pk).environment == {"SECRET_TOKEN": "under-a"}
        assert AccessKey.objects.get(pk=key.pk).secret == secret


@pytest.mark.django_db
def test_values_from_before_the_key_list_stay_readable(alice_account):
    """Values written under the single LAMBDA_ENCRYPTION_KEY, or the key derived from
    SECRET_KEY, are still read once LAMBDA_ENCRYPTION_KEYS is set, until rotated."""
    fn = python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": "derived"})
    with override_settings(LAMBDA_ENCRYPTION_KEY="an old passphrase, not a Fernet key"):
        legacy = python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": "legacy"})
    new_key = Fernet.generate_key().decode()
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[new_key],
                           LAMBDA_ENCRYPTION_KEY="an old passphrase, not a Fernet key"):
        assert Function.objects.get(pk=fn.pk).environment == {"SECRET_TOKEN": "derived"}
        assert Function.objects.get(pk=legacy.pk).environment == {"SECRET_TOKEN": "legacy"}
        call_command("rotate_encryption_keys", stdout=StringIO())
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[new_key], SECRET_KEY="another secret key entirely"):
        assert Function.objects.get(pk=legacy.pk).environment == {"SECRET_TOKEN": "legacy"}
        assert Function.objects.get(pk=fn.pk).environment == {"SECRET_TOKEN": "derived"}


@pytest.mark.django_db
def test_rotation_reports_values_under_no_configured_key(alice_account):
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        python_function(alice_account, SECRET_HASHER, environment={"SECRET_TOKEN": "lost"})
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        out = StringIO()
        with pytest.raises(Exception, match="1 values are under none of the configured keys"):
            call_command("rotate_encryption_keys", stdout=out)
        assert "console.Function.environment: 0 re-encrypted, 0 already current, 1 unreadable" in out.getvalue()


# --- Settings read in a fresh process, as the servers read them -----------------------

def settings_in_subprocess(code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("SECRET_KEY", "REDIS_URL", "REDIS_DB", "LAMBDA_ENCRYPTION_KEYS", "LAMBDA_VAR_DIR")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "console.settings", **env},
        capture_output=True, text=True, timeout=60)


def test_the_secret_key_file_is_created_readable_by_its_owner_only(tmp_path):
    done = settings_in_subprocess("print(len(settings.SECRET_KEY))", LAMBDA_VAR_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(tmp_path.glob(".secret_key*")) == []  # no temporary file left behind
    first = key_file.read_text()
    # Created once: the next process reads the same key.
    assert settings_in_subprocess("", LAMBDA_VAR_DIR=str(tmp_path)).returncode == 0
    assert key_file.read_text() == first


def test_a_malformed_key_list_is_refused(tmp_path):
    done = settings_in_subprocess("", LAMBDA_VAR_DIR=str(tmp_path),
                                  LAMBDA_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},not-a-key")
    assert done.returncode != 0
    assert "LAMBDA_ENCRYPTION_KEYS: key 2 is not a Fernet key" in done.stderr
