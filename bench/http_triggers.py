"""Function URL benchmark: round-trip latency and throughput through Daphne and a worker.

    python bench/http_triggers.py [--requests N] [--seconds S] [--connections C]

Runs against this machine only: it starts its own Daphne and Celery worker (threads pool)
on 127.0.0.1, a separate database and Redis db, creates a function URL for a warm Python
function, measures p50/p99 at concurrency 1 with a keep-alive client, then requests/s at
C concurrent connections with wrk (Debian package wrk), and prints one JSON object. The
Daphne-only rate (GET /health) and the invoke service's own latency are measured too, to
show where the time goes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench-http"))
os.environ.setdefault("REDIS_DB", "11")  # of the Redis of scripts/services.sh, with its password

# bench/invoke.py sets the rest of the environment up, then Django with it.
from bench.invoke import percentile, start_worker  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from console.codestore import make_zip  # noqa: E402
from console.models import Account  # noqa: E402
from console.services.function_urls import function_url_create  # noqa: E402
from console.services.functions import function_create  # noqa: E402
from executor.invoke import invoke  # noqa: E402

HANDLER = """import json

def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["rawPath"]})}
"""


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
            raise SystemExit("daphne exited; see bench-daphne.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == ready_status:  # the trigger listener answers /health 404
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("daphne did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float, connections: int, pid: int) -> dict:
    """Requests/s and latency percentiles from wrk, and the CPU Daphne used meanwhile."""
    before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    daphne_cpu = (cpu_seconds(pid) - before) / seconds

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        print(f"wrk gave no rate:\n{out}", file=sys.stderr)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": float(rate.group(1)) if rate else None, "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "non_2xx": int(errors.group(1)) if errors else 0, "daphne_cpu_cores": round(daphne_cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500, help="sequential requests (concurrency 1)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    ap.add_argument("--connections", type=int, default=32, help="wrk's concurrent connections")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    port, trigger_port = free_port(), free_port()
    worker = start_worker(64)
    daphne = triggers = None
    try:
        daphne = start_daphne(port)
        # Function URLs are served by the trigger listener, never on the console's port.
        triggers = start_daphne(trigger_port, "console.asgi:triggers_application", 404, "bench-triggers.log",
                                {"LAMBDA_TRIGGER_PORT": str(trigger_port)})
        account, _ = Account.objects.get_or_create(account_id="999999999998", name="bench-http")
        account.functions.all().delete()
        fn = function_create(account, "url-warm", runtime="python3.11", zip_file=make_zip({"lambda_function.py": HANDLER}))
        config = function_url_create(account, fn, auth_type="NONE")
        path = f"/lambda-url/{config.url_id}/bench"

        conn = http.client.HTTPConnection("127.0.0.1", trigger_port, timeout=30)  # one keep-alive connection

        def get() -> float:
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"function URL answered {response.status}")
            return (time.perf_counter() - start) * 1000

        for _ in range(20):
            get()
        sequential = [get() for _ in range(args.requests)]
        conn.close()

        direct = []
        for _ in range(min(200, args.requests)):
            start = time.perf_counter()
            invoke(fn, "{}", source="bench")
            direct.append((time.perf_counter() - start) * 1000)

        url = f"http://127.0.0.1:{trigger_port}{path}"
        wrk(url, 3, args.connections, triggers.pid)  # warm one environment per connection first
        loaded = wrk(url, args.seconds, args.connections, triggers.pid)
        health = wrk(f"http://127.0.0.1:{port}/health", min(args.seconds, 4), args.connections, daphne.pid)

        print(json.dumps({
            "function_url_p50_ms": round(percentile(sequential, 50), 2),
            "function_url_p99_ms": round(percentile(sequential, 99), 2),
            "function_url_requests_per_s": loaded["requests_per_s"],
            "under_load": loaded,
            "invoke_service_p50_ms": round(percentile(direct, 50), 2),
            "daphne_health_requests_per_s": health["requests_per_s"],
            "daphne_health": health,
            "runs": {"sequential": len(sequential), "wrk_connections": args.connections,
                     "wrk_seconds": args.seconds},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "kernel": platform.release()},
        }))
    finally:
        for proc in (daphne, triggers):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        worker.stop()


if __name__ == "__main__":
    main()
