"""Lambda API benchmark: warm Invoke through boto3 over HTTP (SigV4, Daphne, worker, container).

    python bench/api.py [--warm N] [--seconds S]

Starts its own Daphne and Celery worker (threads pool) on a separate database and Redis db,
talks to them on 127.0.0.1 only, and prints one JSON object: p50/p99 at concurrency 1 and
throughput at 8 and 32 concurrent clients.
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import threading
import time
import urllib.request

ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench-api"))
os.environ.setdefault("REDIS_DB", "13")  # of the Redis of scripts/services.sh, with its password
os.environ.setdefault("LAMBDA_DOCKER_NETWORK", "lambda-functions-bench-api")

# bench/invoke.py sets the environment up, then Django with it; its helpers are shared.
from bench import invoke as bench  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from console.codestore import make_zip  # noqa: E402
from console.services.access_keys import access_key_create  # noqa: E402
from console.services.accounts import account_for_user  # noqa: E402


def start_daphne() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(Path(settings.VAR_DIR) / "bench-daphne.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                             "console.asgi:application"], cwd=ROOT, env=dict(os.environ), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("bench daphne exited; see var/bench-api/bench-daphne.log")
            time.sleep(0.2)
    raise SystemExit("bench daphne did not start")


def throughput(make_client, clients: int, seconds: float) -> float:
    """Steady-state invokes/s: every client makes a first (maybe cold) call, then all start
    the clock together, so environment start-up is not counted as throughput."""
    done = 0
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def run() -> None:
        nonlocal done
        client = make_client()
        client.invoke(FunctionName="warm", Payload=b"{}")
        ready.wait()
        count = 0
        while time.perf_counter() < window["stop"]:
            client.invoke(FunctionName="warm", Payload=b"{}")
            count += 1
        with lock:
            done += count

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    window["stop"] = float("inf")
    ready.wait()
    began = time.perf_counter()
    window["stop"] = began + seconds
    for t in threads:
        t.join()
    return done / (time.perf_counter() - began)


def main() -> None:
    import boto3
    import redis
    from botocore.config import Config
    from django.contrib.auth.models import User

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=500, help="sequential warm invocations")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each throughput run")
    args = ap.parse_args()

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    worker = bench.start_worker(64)
    daphne, url = start_daphne()
    try:
        user, _ = User.objects.get_or_create(username="bench-api")
        account_for_user(user).functions.all().delete()
        key, secret = access_key_create(user)

        def make_client():
            return boto3.client("lambda", endpoint_url=url, region_name="us-east-1",
                                aws_access_key_id=key.access_key_id, aws_secret_access_key=secret,
                                config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4))

        client = make_client()
        client.create_function(FunctionName="warm", Runtime="python3.11", Role="arn:aws:iam::1:role/bench",
                               Handler="lambda_function.lambda_handler",
                               Code={"ZipFile": make_zip({"lambda_function.py": bench.HELLO})})
        for _ in range(20):
            client.invoke(FunctionName="warm", Payload=b"{}")
        warm = []
        for _ in range(args.warm):
            start = time.perf_counter()
            client.invoke(FunctionName="warm", Payload=b"{}")
            warm.append((time.perf_counter() - start) * 1000)
        rates = {n: round(throughput(make_client, n, args.seconds), 1) for n in (8, 32)}
        print(json.dumps({
            "api_warm_p50_ms": round(bench.percentile(warm, 50), 2),
            "api_warm_p99_ms": round(bench.percentile(warm, 99), 2),
            "api_throughput_per_s_8_clients": rates[8],
            "api_throughput_per_s_32_clients": rates[32],
            "runs": {"warm": len(warm), "throughput_seconds": args.seconds},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "kernel": platform.release()},
        }))
    finally:
        os.killpg(daphne.pid, signal.SIGTERM)
        daphne.wait(timeout=60)
        worker.stop()


if __name__ == "__main__":
    main()
