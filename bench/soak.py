"""Soak: a real `make run` held at its concurrency limit for two minutes; errors and memory.

    python bench/soak.py [--seconds 120] [--clients 64]

Starts scripts/run.sh on private ports (bench/stack.py), creates a function that takes
0.2 s, and keeps more clients calling Invoke through boto3 than the account may run at once
(LAMBDA_ACCOUNT_CONCURRENCY, 50), so the stack works at its limit and the surplus is
throttled, as AWS throttles it. Traffic goes to 127.0.0.1 only. Every 5 s it samples the
resident memory of each supervised process (with its children). Prints one JSON object:
calls answered, throttled, any other error (must be none), and each process's memory after
warm-up and at the end; exits non-zero when an error other than throttling appeared or a
process's memory grew by more than a quarter, at least 30 MB, after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

from bench.stack import ROOT, Stack  # noqa: E402
from bench.tally import expect_success  # noqa: E402
from console.codestore import make_zip  # noqa: E402

WORK = "import time\ndef lambda_handler(event, context):\n    time.sleep(0.2)\n    return {'ok': True}\n"
WARM_UP = 30.0  # seconds before the memory baseline: containers started, caches filled
SAMPLE_EVERY = 5.0


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        kids = [int(k) for k in children.read_text().split()]
    except OSError:
        return []
    return kids + [grandchild for kid in kids for grandchild in descendants(kid)]


def rss_mb(pid: int) -> float:
    total = 0
    for each in (pid, *descendants(pid)):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()
    base = ROOT / "var" / f"soak-{uuid.uuid4().hex[:6]}"
    base.mkdir(parents=True)
    stack = Stack(base, LAMBDA_WORKER_THREADS="64")
    counts = {"ok": 0, "throttled": 0, "errors": 0}
    errors: dict[str, int] = {}
    lock, stop = threading.Lock(), threading.Event()
    try:
        stack.start()
        setup = stack.lambda_client()
        setup.create_function(FunctionName="soak", Runtime="python3.11", Role=stack.lambda_role(),
                              Handler="lambda_function.lambda_handler", Code={"ZipFile": make_zip(
                                  {"lambda_function.py": WORK})})
        first = setup.invoke(FunctionName="soak", Payload=b"{}")
        expect_success(first["StatusCode"], first.get("FunctionError"), first["Payload"].read())

        def client() -> None:
            api = None
            while not stop.is_set():
                try:
                    api = api or stack.lambda_client(read_timeout=60, max_pool_connections=2)
                    response = api.invoke(FunctionName="soak", Payload=b"{}")
                    kind = "errors" if "FunctionError" in response else "ok"
                    detail = "FunctionError" if kind == "errors" else ""
                except ClientError as exc:
                    detail = exc.response["Error"]["Code"]
                    kind = "throttled" if detail == "TooManyRequestsException" else "errors"
                except (BotoCoreError, OSError) as exc:
                    kind, detail = "errors", type(exc).__name__
                except Exception as exc:  # a client that raises is an error, never a lost count
                    kind, detail = "errors", repr(exc)
                with lock:
                    counts[kind] += 1
                    if kind == "errors":
                        errors[detail] = errors.get(detail, 0) + 1
                if kind == "throttled":
                    stop.wait(0.05)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        samples: list[tuple[float, dict[str, float]]] = []
        while time.monotonic() - began < args.seconds:
            time.sleep(SAMPLE_EVERY)
            samples.append((time.monotonic() - began, {name: rss_mb(stack.pid_of(name))
                                                       for name in sorted(stack.pids())}))
        stop.set()
        for thread in threads:
            thread.join(90)
        elapsed = time.monotonic() - began
        restarts = stack.log().count("restarting it in")
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)
    after_warm_up = next(sample for at, sample in samples if at >= min(WARM_UP, args.seconds / 2))
    final = samples[-1][1]
    memory = {name: {"after_warm_up_mb": round(after_warm_up[name], 1), "end_mb": round(final[name], 1),
                     "peak_after_warm_up_mb": round(max(s[name] for at, s in samples if at >= WARM_UP), 1)}
              for name in final}
    grew = [name for name, m in memory.items()
            if m["end_mb"] - m["after_warm_up_mb"] > max(30.0, m["after_warm_up_mb"] / 4)]
    print(json.dumps({
        "benchmark": "soak", "machine": f"{platform.node()} {os.cpu_count()} cores", "seconds": round(elapsed, 1),
        "clients": args.clients, "account_concurrency": 50, "answered": counts["ok"],
        "answered_per_s": round(counts["ok"] / elapsed, 1), "throttled": counts["throttled"],
        "errors": counts["errors"], "error_kinds": errors, "process_restarts": restarts,
        "memory": memory, "memory_grew": grew,
    }))
    if counts["errors"] or grew or restarts:
        sys.exit(1)


if __name__ == "__main__":
    main()
