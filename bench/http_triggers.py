"""Function URL benchmark: round-trip latency and throughput through Daphne and a worker.

    python bench/http_triggers.py [--requests N] [--seconds S] [--connections C]

Runs against this machine only: it starts its own Daphne and Celery worker (threads pool)
on 127.0.0.1, a separate database and Redis db, creates a function URL for a warm Python
function, measures p50/p99 at concurrency 1 with a keep-alive client, then requests/s at
C concurrent connections with wrk (Debian package wrk), and prints one JSON object. The
Daphne-only rate (GET /health) and the invoke service's own latency are measured too, to
show where the time goes. A non-2xx answer, a socket error or a function error is counted
in "errors", never as a figure, and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench-http"))
os.environ.setdefault("REDIS_DB", "11")  # of the Redis of scripts/services.sh, with its password

# Sets the rest of the environment up, then Django with it.
from bench.harness import free_port, prepare, start_daphne, stop_servers  # noqa: E402
from bench.tally import CallFailed, Tally, percentile  # noqa: E402
from bench.invoke import invoke_ok  # noqa: E402


from console.codestore import make_zip  # noqa: E402
from console.models import Account  # noqa: E402
from console.services.function_urls import function_url_create  # noqa: E402
from console.services.functions import function_create  # noqa: E402

HANDLER = """import json

def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["rawPath"]})}
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float, connections: int, pid: int, tally: Tally) -> dict:
    """Requests/s and latency percentiles from wrk, and the CPU Daphne used meanwhile.

    Non-2xx answers and socket errors go to the tally: wrk counts them as requests.
    """
    before = cpu_seconds(pid)
    # A slow answer (a cold start under load) is a latency; wrk's default 2 s timeout would
    # drop it from the percentiles.
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--timeout", "30s",
                          "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    daphne_cpu = (cpu_seconds(pid) - before) / seconds

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        tally.failed(1, f"wrk gave no rate for {url}: {out[-300:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non_2xx = int(non_2xx.group(1)) if non_2xx else 0
    tally.failed(non_2xx, f"non-2xx answers from {url}")
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, found.groups()))) if found else {}
    tally.failed(sum(socket_errors.values()), f"socket errors {socket_errors} on {url}")
    return {"requests_per_s": float(rate.group(1)) if rate else None, "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "non_2xx": non_2xx, "socket_errors": socket_errors, "daphne_cpu_cores": round(daphne_cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500, help="sequential requests (concurrency 1)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    ap.add_argument("--connections", type=int, default=32, help="wrk's concurrent connections")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    port, trigger_port = free_port(), free_port()
    worker = prepare()
    tally = Tally()
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

        def get() -> None:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise CallFailed(f"function URL answered {response.status}: {body[:200]!r}")

        tally.series(get, 20)
        sequential = tally.series(get, args.requests)
        conn.close()

        # The same function without the listener: its event needs only the path.
        event = json.dumps({"rawPath": "/bench"})
        direct = tally.series(lambda: invoke_ok(fn, event), min(200, args.requests))

        url = f"http://127.0.0.1:{trigger_port}{path}"
        wrk(url, 3, args.connections, triggers.pid, tally)  # warm one environment per connection first
        loaded = wrk(url, args.seconds, args.connections, triggers.pid, tally)
        health = wrk(f"http://127.0.0.1:{port}/health", min(args.seconds, 4), args.connections, daphne.pid, tally)

        tally.report({
            "function_url_p50_ms": percentile(sequential, 50),
            "function_url_p99_ms": percentile(sequential, 99),
            "function_url_requests_per_s": loaded["requests_per_s"],
            "under_load": loaded,
            "invoke_service_p50_ms": percentile(direct, 50),
            "daphne_health_requests_per_s": health["requests_per_s"],
            "daphne_health": health,
            "runs": {"sequential": len(sequential), "wrk_connections": args.connections,
                     "wrk_seconds": args.seconds},
        })
    finally:
        stop_servers(daphne, triggers)
        worker.stop()


if __name__ == "__main__":
    main()
