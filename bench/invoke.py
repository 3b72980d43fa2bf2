"""Invocation benchmark: cold start, warm latency, throughput and idle memory.

    python bench/invoke.py [--warm N] [--seconds S] [--clients C]

Runs against this machine only: it starts its own Celery worker (threads pool) on a
separate database and Redis db, talks to Redis on 127.0.0.1 and to the project's own
containers on the Docker bridge, and prints one JSON object. A call that fails (a function
error included) is counted in "errors", never as a figure, and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sets the environment up, then Django with it.
from bench.harness import HELLO, idle_rss_mb, prepare  # noqa: E402
from bench.tally import Tally, expect_success, percentile  # noqa: E402


from console.codestore import make_zip  # noqa: E402
from console.models import Account, Function  # noqa: E402
from console.services.functions import function_create  # noqa: E402
from executor.invoke import invoke  # noqa: E402


def invoke_ok(fn: Function, event: str = "{}") -> None:
    """One synchronous invocation that must succeed: a function error raises."""
    result = invoke(fn, event)
    expect_success(result.status_code, result.function_error, result.payload)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=500, help="sequential warm invocations")
    ap.add_argument("--cold", type=int, default=7, help="cold starts (new functions)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the throughput run")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput run")
    args = ap.parse_args()

    worker = prepare()
    tally = Tally()
    try:
        account, _ = Account.objects.get_or_create(account_id="999999999999", name="bench")
        account.functions.all().delete()
        code = make_zip({"lambda_function.py": HELLO})

        cold = []
        for i in range(args.cold):
            new = function_create(account, f"cold-{i}-{uuid.uuid4().hex[:6]}", runtime="python3.11", zip_file=code)
            cold += tally.series(lambda: invoke_ok(new), 1)

        fn = function_create(account, "warm", runtime="python3.11", zip_file=code)
        tally.series(lambda: invoke_ok(fn), 20)
        warm = tally.series(lambda: invoke_ok(fn), args.warm)

        time.sleep(0.5)
        rss = idle_rss_mb(worker, fn.arn)
        rate = tally.throughput(lambda: lambda: invoke_ok(fn), args.clients, args.seconds)

        tally.report({
            "cold_start_p50_ms": round(statistics.median(cold), 1) if cold else None,
            "warm_p50_ms": percentile(warm, 50),
            "warm_p99_ms": percentile(warm, 99),
            "throughput_per_s": round(rate, 1),
            "idle_env_rss_mb": rss,
            "runs": {"cold": len(cold), "warm": len(warm), "throughput_clients": args.clients,
                     "throughput_seconds": args.seconds},
        })
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
