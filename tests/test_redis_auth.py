"""Redis asks for a password: the one `make run` and `make test` start, and every client uses it."""
from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings

from .conftest import ROOT, eventually

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def services(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/services.sh", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def redis_place(tmp_path) -> Iterator[dict[str, str]]:
    """A port, data directory and password file of our own, for a Redis started by the scripts;
    whatever starts there is stopped afterwards."""
    place = {"REDIS_PORT": str(free_port()), "REDIS_DIR": str(tmp_path / "redis"),
             "REDIS_PASSWORD_FILE": str(tmp_path / "redis.password")}
    yield place
    pid_file = Path(place["REDIS_DIR"]) / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass


def refuses_without_password(port: int, password: str) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password=password + "x").ping()
    assert redis.Redis(port=port, password=password).ping()


def test_the_suites_redis_refuses_a_client_without_the_password():
    url = urlparse(settings.REDIS_URL)
    if not url.password:
        # `make test` starts its Redis with a password, or uses one that has ours; only an
        # explicit REDIS_URL (a developer's own Redis) may name one without, and never in CI.
        if "REDIS_URL" in os.environ and not os.environ.get("CI"):
            pytest.skip("REDIS_URL names a Redis without a password")
        pytest.fail(f"the suite's Redis has no password: REDIS_URL is {settings.REDIS_URL}")
    client = redis.Redis(host=url.hostname, port=url.port or 6379, db=int(url.path.lstrip("/") or 0))
    with pytest.raises(redis.AuthenticationError):
        client.ping()
    assert redis.Redis.from_url(settings.REDIS_URL).ping()


def test_the_script_starts_redis_with_a_password_made_once(redis_place):
    """What `make test` and `make bench` start (scripts/services.sh redis)."""
    assert services("redis-state", **redis_place).stdout.strip() == "none"
    started = services("redis", **redis_place)
    assert started.returncode == 0, started.stderr
    password_file = Path(redis_place["REDIS_PASSWORD_FILE"])
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert len(password) == 64
    port = int(redis_place["REDIS_PORT"])
    refuses_without_password(port, password)

    # The password is nowhere on the server's command line, which every local user can read.
    pid = int((Path(redis_place["REDIS_DIR"]) / "redis.pid").read_text())
    assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()

    # A second start finds it running with our password, and makes no new one.
    assert services("redis-state", **redis_place).stdout.strip() == "ours"
    assert services("redis", **redis_place).returncode == 0
    assert password_file.read_text().strip() == password


def test_make_run_starts_redis_with_a_password(redis_place):
    """The Procfile's `redis` process, as `make run` has scripts/supervise.py start it (`bash -c`)."""
    assert services("redis-password", **redis_place).returncode == 0
    password = Path(redis_place["REDIS_PASSWORD_FILE"]).read_text().strip()
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("redis:"))
    Path(redis_place["REDIS_DIR"]).mkdir()
    proc = subprocess.Popen(["bash", "-c", line.split(":", 1)[1]], cwd=ROOT, env={**os.environ, **redis_place},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = int(redis_place["REDIS_PORT"])
        eventually(lambda: services("redis-state", **redis_place).stdout.strip() == "ours" or None, timeout=20)
        refuses_without_password(port, password)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_a_redis_without_a_password_is_used_with_a_warning(redis_place):
    """Someone's own Redis, already on the port: kept, as before, but not silently."""
    port = redis_place["REDIS_PORT"]
    own = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "",
                            "--dir", str(Path(redis_place["REDIS_DIR"]).parent)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: services("redis-state", **redis_place).stdout.strip() == "open" or None, timeout=20)
        used = services("redis", **redis_place)
        assert used.returncode == 0
        assert "asks for no password" in used.stderr
    finally:
        own.terminate()
        own.wait(timeout=10)


def test_every_client_builds_its_url_from_the_password_file(tmp_path):
    """Settings, read in a fresh process as the web server, worker and beat read them."""
    password_file = tmp_path / "redis.password"
    password_file.write_text("p@ss/word\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_DB")}
    env.update(DJANGO_SETTINGS_MODULE="console.settings", LAMBDA_VAR_DIR=str(tmp_path),
               REDIS_PASSWORD_FILE=str(password_file), REDIS_PORT="6390", REDIS_DB="3")
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND, "
            "settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["redis://:p%40ss%2Fword@127.0.0.1:6390/3"] * 4

    # An explicit REDIS_URL names another Redis and wins.
    env["REDIS_URL"] = "redis://elsewhere:6379/1"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["redis://elsewhere:6379/1"] * 4
