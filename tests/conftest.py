"""Shared fixtures: named accounts, a real Celery worker process, and function factories."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from console.codestore import make_zip
from console.models import Account, Function
from console.services.functions import function_create

ROOT = Path(__file__).resolve().parent.parent


def eventually(probe, timeout: float = 10.0, interval: float = 0.05):
    """Retry `probe` until it returns without raising (and not None); return its value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
            if value is not None:
                return value
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class WorkerProcess:
    """A real `celery worker` with the threads pool, on the test database and Redis."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.extra_env: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.recorder: subprocess.Popen | None = None
        self.log_path = Path(settings.VAR_DIR) / "worker.log"

    def start(self) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "SQLITE_PATH": self.db_path,
               "PYTHONUNBUFFERED": "1", **self.extra_env}
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "console", "worker", "-P", "threads", "-c", "32",
             "-Q", "lambda.sync,lambda.async", "-l", "info", "--without-mingle", "--without-gossip",
             "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if self.recorder is None or self.recorder.poll() is not None:
            # The worker's companion: writes synchronous invocations' records (make run's Procfile too).
            self.recorder = subprocess.Popen([sys.executable, "manage.py", "run_recorder"], cwd=ROOT, env=env,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        r = redis.Redis.from_url(settings.REDIS_URL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: see {self.log_path}")
            if any(f"-{self.proc.pid}-".encode() in key for key in r.scan_iter("lambda:worker:*")):
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout} s: see {self.log_path}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ensure_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def restart(self, **env: str) -> None:
        """Start again with these settings (none: the defaults)."""
        self.stop()
        self.extra_env = env
        self.start()

    def stop(self, recorder: bool = False) -> None:
        if recorder and self.recorder and self.recorder.poll() is None:
            self.recorder.send_signal(signal.SIGTERM)
            self.recorder.wait(timeout=30)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def endpoint_address(django_db_setup) -> tuple[str, int]:
    """(gateway, port) of the AWS endpoint on the test network's bridge (AWS_ENDPOINT_URL inside
    functions): a free port there, which the worker (netpolicy, AWS_ENDPOINT_URL) and the live
    server's endpoint listener both learn from LAMBDA_ENDPOINT_PORT."""
    import socket

    from executor import containers

    gateway = containers.ensure_network(settings.LAMBDA_DOCKER_NETWORK)
    with socket.socket() as s:
        s.bind((gateway, 0))
        port = s.getsockname()[1]
    os.environ["LAMBDA_ENDPOINT_PORT"] = str(port)
    settings.LAMBDA_ENDPOINT_PORT = port
    return gateway, port


@pytest.fixture(scope="session")
def worker_process(django_db_setup, django_db_blocker, endpoint_address):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    from django.db import connection

    worker = WorkerProcess(connection.settings_dict["NAME"])
    worker.start()
    yield worker
    worker.stop(recorder=True)


@pytest.fixture
def worker(worker_process, transactional_db):
    """A live worker that sees this test's committed rows."""
    worker_process.ensure_running()
    yield worker_process
    if worker_process.extra_env:  # a test changed its settings: back to the defaults
        worker_process.restart()


@pytest.fixture
def alice_account(db) -> Account:
    return Account.objects.create(account_id="111111111111", name="alice")


@pytest.fixture
def charlie_account(db) -> Account:
    return Account.objects.create(account_id="222222222222", name="charlie")


def python_function(account: Account, source: str, name: str | None = None, **config) -> Function:
    """A python3.11 function whose lambda_function.py is `source`."""
    return function_create(
        account, name or f"py-{uuid.uuid4().hex[:8]}", runtime="python3.11",
        handler=config.pop("handler", "lambda_function.lambda_handler"),
        zip_file=make_zip({"lambda_function.py": source}), **config,
    )


def node_function(account: Account, files: dict[str, str], handler: str = "index.handler",
                  name: str | None = None, **config) -> Function:
    return function_create(account, name or f"node-{uuid.uuid4().hex[:8]}", runtime="nodejs18.x",
                           handler=handler, zip_file=make_zip(files), **config)


# --- Console users and the live server the browser tests drive ---------------------------

PASSWORDS = {"alice": "alice-password-1", "charlie": "charlie-password-1"}


@pytest.fixture
def alice(alice_account):
    """Alice, a user of the account that owns the functions under test."""
    from console.services.accounts import user_create

    return user_create("alice", PASSWORDS["alice"], account=alice_account)


@pytest.fixture
def charlie(charlie_account):
    """Charlie, a user of another account: an outsider to alice's functions."""
    from console.services.accounts import user_create

    return user_create("charlie", PASSWORDS["charlie"], account=charlie_account)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def charlie_client(alice, charlie):
    from django.test import Client

    other = Client()
    other.force_login(charlie)
    return other


class LiveServer:
    """Daphne serving the console (HTTP and websockets) on the test database, a second Daphne,
    the trigger listener (function URLs and HTTP APIs), on a port of its own, and a third, the AWS
    endpoint of the functions' network on its gateway address, as `make run` does."""

    def __init__(self, db_path: str, endpoint: tuple[str, int]) -> None:
        import socket

        with socket.socket() as s, socket.socket() as t:
            s.bind(("127.0.0.1", 0))
            t.bind(("127.0.0.1", 0))
            self.port, self.trigger_port = s.getsockname()[1], t.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.trigger_url = f"http://127.0.0.1:{self.trigger_port}"
        self.log_path = Path(settings.VAR_DIR) / "daphne.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "SQLITE_PATH": db_path,
               "PYTHONUNBUFFERED": "1", "LAMBDA_TRIGGER_PORT": str(self.trigger_port),
               "LAMBDA_TRIGGER_URL": self.trigger_url}
        daphne = str(Path(sys.executable).parent / "daphne")
        self.proc = subprocess.Popen(
            [daphne, "-b", "127.0.0.1", "-p", str(self.port), "console.asgi:application"],
            cwd=ROOT, env=env, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        self.trigger_proc = subprocess.Popen(
            [daphne, "-b", "127.0.0.1", "-p", str(self.trigger_port), "console.asgi:triggers_application"],
            cwd=ROOT, env=env, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        gateway, endpoint_port = endpoint
        self.endpoint_url = f"http://{gateway}:{endpoint_port}"
        self.endpoint_proc = subprocess.Popen(
            [daphne, "-b", gateway, "-p", str(endpoint_port), "console.asgi:endpoint_application"],
            cwd=ROOT, env=env, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        import urllib.error
        import urllib.request

        def ready():
            if any(proc.poll() is not None for proc in (self.proc, self.trigger_proc, self.endpoint_proc)):
                raise RuntimeError(f"daphne exited: see {self.log_path}")
            for url in (self.trigger_url, self.endpoint_url):  # both answer 404 to anything else
                try:
                    urllib.request.urlopen(url + "/", timeout=1)
                except urllib.error.HTTPError as exc:
                    if exc.code != 404:
                        raise
            return urllib.request.urlopen(self.url + "/health", timeout=1).status == 200 or None

        eventually(ready, timeout=30, interval=0.2)

    def stop(self) -> None:
        for proc in (self.proc, self.trigger_proc, self.endpoint_proc):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture(scope="session")
def live_server_process(django_db_setup, django_db_blocker, endpoint_address):
    from django.db import connection

    server = LiveServer(connection.settings_dict["NAME"], endpoint_address)
    yield server
    server.stop()


@pytest.fixture
def live_server_url(live_server_process, worker) -> str:
    """The console's URL, with a worker that runs its invocations."""
    return live_server_process.url


@pytest.fixture
def trigger_url(live_server_process, worker) -> str:
    """The trigger listener's URL (function URLs and HTTP APIs), with a worker."""
    return live_server_process.trigger_url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser(worker_process, live_server_process):
    """Headless Debian Chromium through Playwright's sync API.

    That API keeps an event loop running in this thread, which Django's async-safety check
    mistakes for async code; the test's ORM calls are plain blocking calls, so it is lifted
    here, after the server and worker processes have started without it.
    """
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(browser, base_url: str, username: str):
    """A new browser page, logged in as `username` through the login form."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page


@pytest.fixture
def alice_lambda(live_server_url, alice):
    """boto3's Lambda client against the live server, with a fresh key of alice's."""
    from console.services.access_keys import access_key_create

    from .api_helpers import lambda_client

    key, secret = access_key_create(alice)
    return lambda_client(live_server_url, key.access_key_id, secret)


@pytest.fixture
def charlie_lambda(live_server_url, charlie):
    from console.services.access_keys import access_key_create

    from .api_helpers import lambda_client

    key, secret = access_key_create(charlie)
    return lambda_client(live_server_url, key.access_key_id, secret)


@pytest.fixture
def alice_s3(alice_lambda):
    """boto3's S3 client against the live server (path-style, as SDKs address an endpoint given by IP)."""
    from .api_helpers import client_like

    return client_like(alice_lambda, "s3")


@pytest.fixture
def charlie_s3(charlie_lambda):
    from .api_helpers import client_like

    return client_like(charlie_lambda, "s3")


@pytest.fixture
def alice_page(browser, live_server_url, alice):
    page = log_in(browser, live_server_url, "alice")
    yield page
    page.context.close()
