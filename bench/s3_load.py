"""The S3 benchmark's load: SigV4-signed PUT and GET of small objects from several processes.

No Django here (the client processes are forked from bench/s3.py and must not touch its
database). Each client is one process with one keep-alive connection (http.client) that
signs every request with botocore's own S3 signer (`S3SigV4Auth`, the payload's SHA-256 in
x-amz-content-sha256, as botocore signs a plain-HTTP PutObject) and checks every answer, so
what is timed is a faithful S3 request, minus boto3's own per-call machinery (endpoint
resolution, hooks, response parsing), which costs more CPU than the server on this machine.
"""
from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class _Signer(S3SigV4Auth):
    """botocore's S3 signer; a streamed file's SHA-256 is given, not read from the request."""

    def payload(self, request):
        return request.context.get("payload_sha256") or super().payload(request)


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"


class Client:
    """One S3 client: a connection and a signer."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.auth = _Signer(Credentials(target.access_key, target.secret_key), "s3", target.region)
        self.base = f"http://{target.host}:{target.port}"
        self.conn = http.client.HTTPConnection(target.host, target.port, timeout=30)

    def request(self, method: str, key: str, body: bytes = b"") -> tuple[int, bytes, dict]:
        path = f"/{self.target.bucket}/{quote(key)}"
        req = AWSRequest(method=method, url=self.base + path, data=body,
                         headers={"Content-Type": "binary/octet-stream"} if method == "PUT" else {})
        self.auth.add_auth(req)
        headers = dict(req.headers.items())
        self.conn.request(method, path, body=body or None, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, dict(response.getheaders())

    def put(self, key: str, body: bytes) -> None:
        status, data, _ = self.request("PUT", key, body)
        if status != 200:
            raise RuntimeError(f"PUT {key}: {status} {data[:200]!r}")

    def get(self, key: str, expected: bytes) -> None:
        status, data, _ = self.request("GET", key)
        if status != 200 or data != expected:
            raise RuntimeError(f"GET {key}: {status} {data[:200]!r}")


def put_file(target: Target, key: str, path: str, sha256_hex: str) -> None:
    """A PUT of a file streamed from disk (Content-Length, its SHA-256 signed, as botocore sends it)."""
    client = Client(target)
    url_path = f"/{target.bucket}/{quote(key)}"
    size = os.path.getsize(path)
    req = AWSRequest(method="PUT", url=client.base + url_path,
                     headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
    req.context["payload_sha256"] = sha256_hex
    client.auth.add_auth(req)
    with open(path, "rb") as body:
        client.conn.request("PUT", url_path, body=body, headers=dict(req.headers.items()))
        response = client.conn.getresponse()
        data = response.read()
    if response.status != 200:
        raise RuntimeError(f"PUT {key}: {response.status} {data[:300]!r}")


def get_md5(target: Target, key: str, chunk: int = 1024 * 1024) -> tuple[str, int]:
    """A GET streamed to nowhere: the body's MD5 and size."""
    import hashlib

    client = Client(target)
    url_path = f"/{target.bucket}/{quote(key)}"
    req = AWSRequest(method="GET", url=client.base + url_path)
    client.auth.add_auth(req)
    client.conn.request("GET", url_path, headers=dict(req.headers.items()))
    response = client.conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {key}: {response.status} {response.read()[:300]!r}")
    md5, size = hashlib.md5(), 0
    while data := response.read(chunk):
        md5.update(data)
        size += len(data)
    return md5.hexdigest(), size


def _client_main(target: Target, op: str, index: int, body: bytes, keys: int, barrier, stop_at, out) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    try:
        client = Client(target)
        key_of = lambda n: f"c{index}/k{n % keys}"  # noqa: E731
        call = (lambda n: client.put(key_of(n), body)) if op == "PUT" else (lambda n: client.get(key_of(n), body))
        for n in range(3):  # the connection and the first (slower) calls, outside the window
            call(n)
    except Exception as exc:  # noqa: BLE001 - reported, never a figure
        errors.append(f"{type(exc).__name__}: {exc}")
        call = None
    barrier.wait()
    n = 0
    while call is not None and time.perf_counter() < stop_at.value:
        start = time.perf_counter()
        try:
            call(n)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
            client = Client(target)
        else:
            latencies.append((time.perf_counter() - start) * 1000)
        n += 1
    out.put((latencies, errors[:5], len(errors)))


def seed(target: Target, clients: int, body: bytes, keys: int) -> None:
    """The objects the GET runs read (each client its own keys)."""
    client = Client(target)
    for index in range(clients):
        for n in range(keys):
            client.put(f"c{index}/k{n}", body)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (their threads included)."""
    total = 0
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run(target: Target, op: str, clients: int, seconds: float, body: bytes, keys: int = 50,
        server_pids: list[int] | None = None) -> dict:
    """`clients` processes doing `op` back to back for `seconds`: requests/s, latencies, errors,
    and the CPU time the server and the clients spent per request (which the machine's other
    load does not inflate the way it inflates latencies)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    stop_at = ctx.Value("d", float("inf"))
    out = ctx.Queue()
    procs = [ctx.Process(target=_client_main, args=(target, op, i, body, keys, barrier, stop_at, out))
             for i in range(clients)]
    for proc in procs:
        proc.start()
    barrier.wait()
    began = time.perf_counter()
    server_cpu = cpu_seconds(server_pids) if server_pids else 0.0
    clients_cpu = os.times()
    stop_at.value = began + seconds
    results = [out.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - began
    server_cpu = cpu_seconds(server_pids) - server_cpu if server_pids else 0.0
    for proc in procs:
        proc.join(timeout=30)
    after = os.times()
    latencies = [ms for lat, _, _ in results for ms in lat]
    count = max(1, len(latencies))
    # Children's CPU includes their warm-up calls (3 each): a small overstatement of the client's cost.
    client_cpu = (after.children_user + after.children_system) - (clients_cpu.children_user + clients_cpu.children_system)
    return {"latencies": latencies, "per_s": len(latencies) / elapsed, "elapsed": elapsed,
            "server_cpu_ms": server_cpu * 1000 / count, "client_cpu_ms": client_cpu * 1000 / count,
            "errors": sum(count for _, _, count in results),
            "samples": [s for _, samples, _ in results for s in samples][:5]}
