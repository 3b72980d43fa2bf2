"""S3 benchmark: small-object PUT/GET throughput, a 100 MB object's memory, upload-to-invocation.

    python bench/s3.py [--seconds S] [--clients N] [--skip-cli] [--skip-notify]

Starts its own Daphne (console.asgi:application, as `make run`'s web process serves S3) on a
separate database and Redis db, talks to it on 127.0.0.1 only, and prints one JSON object.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench-s3"))
os.environ.setdefault("REDIS_DB", "14")  # of the Redis of scripts/services.sh, with its password
os.environ.setdefault("LAMBDA_DOCKER_NETWORK", "lambda-functions-bench-s3")

from bench.harness import free_port, server_pids, start_daphne, start_worker, stop_servers  # noqa: E402
from bench.s3_cli import CliPending, cli_timings  # noqa: E402
from bench.s3_notify import Pending, upload_to_invocation  # noqa: E402
from bench.s3_load import Client, Target, get_md5, put_file, run, seed  # noqa: E402
from bench.tally import Tally, percentile  # noqa: E402


def credentials() -> tuple[str, str]:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from console.services.access_keys import access_key_create

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-s3")
    key, secret = access_key_create(user)
    return key.access_key_id, secret


def lambda_client(url: str, key: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))


def s3_client(url: str, key: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))


class RssPeak:
    """The highest resident set of the server's processes (summed) while the block runs, sampled every 5 ms."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = self.peak = rss_mb(pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb(self.pids))

    def __enter__(self) -> "RssPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pids))

    @property
    def growth_mb(self) -> float:
        return round(self.peak - self.before, 1)


def rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
                break
        else:
            raise RuntimeError(f"no VmRSS for {pid}")
    return total


def big_object(target: Target, pids: list[int], size_mb: int) -> dict:
    """One object of `size_mb` MB PUT from a file and GET back: the server's RSS growth each way."""
    path = Path(os.environ["LAMBDA_VAR_DIR"]) / f"bench-{size_mb}mb.bin"
    digest_md5, digest_sha = hashlib.md5(), hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(size_mb):
            block = os.urandom(1024 * 1024)
            out.write(block)
            digest_md5.update(block)
            digest_sha.update(block)
    try:
        gc_settle(target)
        with RssPeak(pids) as put_rss:
            began = time.perf_counter()
            put_file(target, "big/object.bin", str(path), digest_sha.hexdigest())
            put_s = time.perf_counter() - began
        gc_settle(target)
        with RssPeak(pids) as get_rss:
            began = time.perf_counter()
            md5, got = get_md5(target, "big/object.bin")
            get_s = time.perf_counter() - began
        if md5 != digest_md5.hexdigest() or got != size_mb * 1024 * 1024:
            raise RuntimeError(f"the {size_mb} MB object came back different ({got} bytes)")
    finally:
        path.unlink(missing_ok=True)
    return {f"s3_{size_mb}mb_put_rss_growth_mb": put_rss.growth_mb, f"s3_{size_mb}mb_put_seconds": round(put_s, 2),
            f"s3_{size_mb}mb_get_rss_growth_mb": get_rss.growth_mb, f"s3_{size_mb}mb_get_seconds": round(get_s, 2),
            "server_rss_before_mb": round(put_rss.before, 1)}


def gc_settle(target: Target) -> None:
    """A few small requests, so the baseline is taken with the server's usual buffers in use."""
    client = Client(target)
    for n in range(5):
        client.put(f"settle/{n}", b"x" * 1024)
        client.get(f"settle/{n}", b"x" * 1024)
    time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    ap.add_argument("--big-mb", type=int, default=100, help="size of the large object, MB")
    ap.add_argument("--uploads", type=int, default=30, help="uploads timed to their invocation")
    ap.add_argument("--only", choices=("small", "big", "notify", "cli"), action="append",
                    help="run only these parts (default: all)")
    args = ap.parse_args()

    tally = Tally()
    daphne = None
    try:
        key, secret = credentials()
        port = free_port()
        # As `make run` starts it: an unbuffered stdout (this session's PYTHONUNBUFFERED) would
        # write Daphne's access log with one system call per request, ~1 ms of the loop under load.
        os.environ.pop("PYTHONUNBUFFERED", None)
        # As the Procfile's web process serves it: LAMBDA_WEB_PROCESSES Daphnes on one socket.
        daphne = start_daphne(port, log_name="bench-s3-daphne.log",
                              processes=int(os.environ.get("LAMBDA_WEB_PROCESSES", "2")))
        pids = server_pids(daphne)
        url = f"http://127.0.0.1:{port}"
        s3 = s3_client(url, key, secret)
        bucket = "bench-small"
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        target = Target("127.0.0.1", port, key, secret, bucket)
        parts = set(args.only or ("small", "big", "notify", "cli"))
        figures: dict = {"load_average_before": os.getloadavg()[0], "server_processes": len(pids)}
        if "small" in parts:
            body = os.urandom(1024)
            seed(target, args.clients, body, 50)
            for op in ("PUT", "GET"):
                result = run(target, op, args.clients, args.seconds, body, server_pids=pids)
                tally.failed(result["errors"], "; ".join(result["samples"][:1]))
                name = f"s3_{op.lower()}_1kb"
                figures[f"{name}_per_s_{args.clients}_clients"] = round(result["per_s"], 1)
                figures[f"{name}_p50_ms"] = percentile(result["latencies"], 50)
                figures[f"{name}_p99_ms"] = percentile(result["latencies"], 99)
                figures[f"{name}_server_cpu_ms_per_request"] = round(result["server_cpu_ms"], 2)
                figures[f"{name}_client_cpu_ms_per_request"] = round(result["client_cpu_ms"], 2)
        if "big" in parts:
            try:
                figures.update(big_object(target, pids, args.big_mb))
            except Exception as exc:  # noqa: BLE001 - an error, never a figure
                tally.error(exc)
        if "notify" in parts:
            worker = start_worker(8)
            try:
                from django.contrib.auth.models import User

                latencies = upload_to_invocation(s3, lambda_client(url, key, secret),
                                                 User.objects.get(username="bench-s3"), args.uploads)
                figures["s3_upload_to_invocation_p50_ms"] = percentile(latencies, 50)
                figures["s3_upload_to_invocation_p99_ms"] = percentile(latencies, 99)
                figures["s3_upload_to_invocation_runs"] = len(latencies)
            except Pending as exc:
                figures["s3_upload_to_invocation_p50_ms"] = f"pending: {exc}"
            except Exception as exc:  # noqa: BLE001 - an error, never a figure
                tally.error(exc)
            finally:
                worker.stop()
        if "cli" in parts:
            try:
                figures.update(cli_timings(url, key, secret, bucket, args.big_mb))
            except CliPending as exc:
                figures["aws_cli"] = f"pending: {exc}"
            except Exception as exc:  # noqa: BLE001 - an error, never a figure
                tally.error(exc)
        figures["load_average_after"] = os.getloadavg()[0]
        tally.report(figures)
    finally:
        stop_servers(daphne)


if __name__ == "__main__":
    main()
