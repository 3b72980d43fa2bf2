"""What the benchmarks share: their environment, their own worker and Daphne.

Importing this module sets the environment up (a caller may first set LAMBDA_VAR_DIR,
REDIS_DB, ... its own way) and then Django. bench/tally.py counts their calls.
"""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

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

from bench.stack import free_port  # noqa: E402,F401 (the benchmarks' one free_port)

HELLO = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'hello'}\n"


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

    from executor.heartbeats import PREFIX as HEARTBEAT_PREFIX

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


def prepare(threads: int = 64) -> Worker:
    """A migrated database, an empty Redis db and the benchmark's own worker."""
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    return start_worker(threads)


def start_daphne(port: int, app: str = "console.asgi:application", ready_status: int = 200,
                 log_name: str = "bench-daphne.log", env: dict | None = None,
                 processes: int = 1) -> subprocess.Popen:
    """Daphne on 127.0.0.1:`port`; with `processes` > 1, that many sharing the socket, as the
    Procfile's web process runs them (scripts/daphnes.py)."""
    log = open(Path(settings.VAR_DIR) / log_name, "w")
    command = ([sys.executable, str(ROOT / "scripts" / "daphnes.py"), "--processes", str(processes)]
               if processes > 1 else [str(Path(sys.executable).parent / "daphne")])
    proc = subprocess.Popen(
        [*command, "-b", "127.0.0.1", "-p", str(port), app],
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


def server_pids(proc: subprocess.Popen) -> list[int]:
    """The processes that serve: the Daphnes of scripts/daphnes.py, or Daphne itself."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        children = []
    return [int(pid) for pid in children] or [proc.pid]


def stop_servers(*procs: subprocess.Popen | None) -> None:
    for proc in procs:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)


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
