"""Invocation benchmark: cold start, warm latency, throughput and idle memory.

    python bench/invoke.py [--warm N] [--seconds S] [--clients C]

Runs against this machine only: it starts its own Celery worker (threads pool) on a
separate database and Redis db, talks to Redis on 127.0.0.1 and to the project's own
containers on the Docker bridge, and prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
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
from django.core.management import call_command  # noqa: E402

from console.codestore import make_zip  # noqa: E402
from console.models import Account  # noqa: E402
from console.services.functions import function_create  # noqa: E402
from executor.invoke import invoke  # noqa: E402

HELLO = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'hello'}\n"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Worker:
    """A Celery worker and its recorder, started and stopped together."""

    def __init__(self, worker: subprocess.Popen, recorder: subprocess.Popen) -> None:
        self.processes = (worker, recorder)
        self.pid = worker.pid

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

    log = open(Path(settings.VAR_DIR) / "bench-worker.log", "w")
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
        if any(f"-{proc.pid}-".encode() in k for k in r.scan_iter("lambda:worker:*")):
            return Worker(proc, recorder)
        if proc.poll() is not None:
            raise SystemExit("bench worker exited; see var/bench/bench-worker.log")
        time.sleep(0.1)
    raise SystemExit("bench worker did not start")


def idle_rss_mb(function_name: str) -> float | None:
    """Resident memory of every process in one idle environment of the function."""
    from executor import containers

    for c in containers.client().api.containers(filters={"label": "lambda.managed=1"}):
        if c["Labels"].get("lambda.function", "").endswith(f":function:{function_name}"):
            total = 0
            for row in containers.client().api.top(c["Id"], ps_args="-o pid")["Processes"]:
                status = Path(f"/proc/{row[0].strip()}/status").read_text()
                total += int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmRSS")))
            return round(total / 1024, 1)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=500, help="sequential warm invocations")
    ap.add_argument("--cold", type=int, default=7, help="cold starts (new functions)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the throughput run")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput run")
    args = ap.parse_args()

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    worker = start_worker(64)
    try:
        account, _ = Account.objects.get_or_create(account_id="999999999999", name="bench")
        account.functions.all().delete()
        code = make_zip({"lambda_function.py": HELLO})

        cold = []
        for i in range(args.cold):
            fn = function_create(account, f"cold-{i}-{uuid.uuid4().hex[:6]}", runtime="python3.11", zip_file=code)
            start = time.perf_counter()
            invoke(fn, "{}")
            cold.append((time.perf_counter() - start) * 1000)

        fn = function_create(account, "warm", runtime="python3.11", zip_file=code)
        for _ in range(20):
            invoke(fn, "{}")
        warm = []
        for _ in range(args.warm):
            start = time.perf_counter()
            invoke(fn, "{}")
            warm.append((time.perf_counter() - start) * 1000)

        time.sleep(0.5)
        rss = idle_rss_mb("warm")

        # Steady state: each client makes a first (maybe cold) call, then the clock starts
        # for all of them at once, so environment start-up is not counted as throughput.
        done = 0
        lock = threading.Lock()
        ready = threading.Barrier(args.clients + 1)
        window = {"stop": float("inf")}

        def client() -> None:
            nonlocal done
            invoke(fn, "{}")
            ready.wait()
            count = 0
            while time.perf_counter() < window["stop"]:
                invoke(fn, "{}")
                count += 1
            with lock:
                done += count

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        ready.wait()
        began = time.perf_counter()
        window["stop"] = began + args.seconds
        for t in threads:
            t.join()
        throughput = done / (time.perf_counter() - began)

        print(json.dumps({
            "cold_start_p50_ms": round(statistics.median(cold), 1),
            "warm_p50_ms": round(percentile(warm, 50), 2),
            "warm_p99_ms": round(percentile(warm, 99), 2),
            "throughput_per_s": round(throughput, 1),
            "idle_env_rss_mb": rss,
            "runs": {"cold": len(cold), "warm": len(warm), "throughput_clients": args.clients,
                     "throughput_seconds": args.seconds},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "kernel": platform.release()},
        }))
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
