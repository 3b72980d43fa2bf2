"""What the benchmarks share: their environment, their own worker, and a tally of failures.

Importing this module sets the environment up (a caller may first set LAMBDA_VAR_DIR,
REDIS_DB, ... its own way) and then Django. Every call a benchmark times goes through a
`Tally`: a function error, a non-2xx answer or an exception is counted as an error, never
as a success, and `report` then exits non-zero after printing the figures, so a broken
setup cannot look like a fast one.
"""
from __future__ import annotations

import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("REDIS_DB", "12")  # of the Redis of scripts/services.sh, with its password
os.environ.setdefault("LAMBDA_DOCKER_NETWORK", "lambda-functions-bench")
os.environ.setdefault("LAMBDA_ACCOUNT_CONCURRENCY", "200")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

HELLO = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'hello'}\n"
SAMPLES = 5  # error messages kept for the report


class CallFailed(Exception):
    """A call answered, but not with a success (a function error, a non-2xx status)."""


class Tally:
    """Successes and errors of the calls of one benchmark, safe to share between threads."""

    def __init__(self) -> None:
        self.errors = 0
        self.samples: list[str] = []
        self._lock = threading.Lock()

    def error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            if len(self.samples) < SAMPLES:
                self.samples.append(f"{type(exc).__name__}: {exc}"[:300])

    def failed(self, count: int, message: str) -> None:
        """Errors counted by another client (wrk's non-2xx answers and socket errors)."""
        if count:
            with self._lock:
                self.errors += count
                if len(self.samples) < SAMPLES:
                    self.samples.append(f"{count} x {message}")

    def call(self, call: Callable[[], object]) -> bool:
        """Run one call; False (and one more error) when it failed in any way."""
        try:
            call()
        except Exception as exc:
            self.error(exc)
            return False
        return True

    def timed(self, call: Callable[[], object]) -> float | None:
        """Milliseconds of one successful call, None when it failed."""
        start = time.perf_counter()
        if not self.call(call):
            return None
        return (time.perf_counter() - start) * 1000

    def series(self, call: Callable[[], object], count: int) -> list[float]:
        """Latencies of `count` sequential calls; the failed ones are errors, not figures."""
        return [ms for ms in (self.timed(call) for _ in range(count)) if ms is not None]

    def throughput(self, make_call: Callable[[], Callable[[], object]], clients: int, seconds: float) -> float:
        """Successful calls per second over `seconds`, `clients` at a time.

        Every client makes a first (maybe cold) call, then the clock starts for all of them
        at once, so environment start-up is not counted as throughput. A client whose setup
        raises still reaches the start line (else the others would wait forever) and counts
        as an error.
        """
        done = 0
        lock = threading.Lock()
        ready = threading.Barrier(clients + 1)
        window = {"stop": float("inf")}

        def run() -> None:
            nonlocal done
            call = None
            try:
                call = make_call()
                if not self.call(call):
                    call = None
            except BaseException as exc:
                self.error(exc)
            ready.wait()
            count = 0
            try:
                while call is not None and time.perf_counter() < window["stop"]:
                    count += self.call(call)
            except BaseException as exc:
                self.error(exc)
            finally:
                with lock:
                    done += count

        threads = [threading.Thread(target=run) for _ in range(clients)]
        for t in threads:
            t.start()
        ready.wait()
        began = time.perf_counter()
        window["stop"] = began + seconds
        for t in threads:
            t.join()
        return done / (time.perf_counter() - began)

    def report(self, figures: dict) -> None:
        """Print the figures as one JSON object with the error count; exit 1 if any call failed."""
        figures = {**figures, "errors": self.errors}
        if self.samples:
            figures["error_samples"] = self.samples
        figures["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "kernel": platform.release()}
        print(json.dumps(figures), flush=True)
        if self.errors:
            print(f"{self.errors} call(s) failed; the figures above are not valid", file=sys.stderr)
            raise SystemExit(1)


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


class Worker:
    """A Celery worker and its recorder, started and stopped together."""

    def __init__(self, worker: subprocess.Popen, recorder: subprocess.Popen, worker_id: str) -> None:
        self.processes = (worker, recorder)
        self.pid = worker.pid
        self.worker_id = worker_id  # the `lambda.worker` label of its containers

    def stop(self) -> None:
        from executor import netpolicy

        for proc in self.processes:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            proc.wait(timeout=60)
        # The worker fenced the bench's network when it started as root; leave no rule behind.
        if netpolicy.available() is None:
            netpolicy.down(settings.LAMBDA_DOCKER_NETWORK)


def start_worker(threads: int) -> Worker:
    import redis

    from executor.node import HEARTBEAT_PREFIX

    log_path = Path(settings.VAR_DIR) / "bench-worker.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "-P", "threads", "-c", str(threads),
         "-Q", "lambda.sync,lambda.async", "-l", "warning", "--without-mingle", "--without-gossip",
         "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    # The worker's companion that writes invocation records, as in the Procfile.
    recorder = subprocess.Popen([sys.executable, "manage.py", "run_recorder"], cwd=ROOT, env=dict(os.environ),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    r = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for key in r.scan_iter(HEARTBEAT_PREFIX + "*"):
            worker_id = key.decode()[len(HEARTBEAT_PREFIX):]
            if f"-{proc.pid}-" in worker_id:
                return Worker(proc, recorder, worker_id)
        if proc.poll() is not None:
            raise SystemExit(f"bench worker exited; see {log_path}")
        time.sleep(0.1)
    raise SystemExit("bench worker did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(port: int, app: str = "console.asgi:application", ready_status: int = 200,
                 log_name: str = "bench-daphne.log", env: dict | None = None) -> subprocess.Popen:
    log = open(Path(settings.VAR_DIR) / log_name, "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited; see {log.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == ready_status:  # the trigger listener answers /health 404
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("daphne did not start")


def idle_rss_mb(worker: Worker, function_arn: str) -> float | None:
    """Resident memory of every process in one idle environment of the function.

    Only a container of this benchmark's own worker counts: another deployment on the same
    Docker engine may run a function of the same name.
    """
    from executor import containers

    api = containers.client().api
    labels = [f"{containers.LABEL}=1", f"lambda.worker={worker.worker_id}", f"lambda.function={function_arn}"]
    for c in api.containers(filters={"label": labels}):
        total = 0
        for row in api.top(c["Id"], ps_args="-o pid")["Processes"]:
            status = Path(f"/proc/{row[0].strip()}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
        return round(total / 1024, 1)
    return None
