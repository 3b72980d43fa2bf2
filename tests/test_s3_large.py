"""A 100 MB object in one PutObject and back with GetObject, through boto3 and the real Daphne.

S3 takes a single PUT of up to 5 GB (S3 User Guide, "Uploading objects"); ours is bounded by
LAMBDA_S3_MAX_OBJECT_SIZE. What a user checks: the bytes come back exactly, and the server
does not hold the object in memory on the way in or out (console/s3/wire/daphne_io.py: Daphne
otherwise queued the whole request body and buffered the whole response, +100 MB each way).
No timing is asserted.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SIZE = 100 * 1024 * 1024
MEMORY_BOUND_MB = 48  # growth allowed while the object passes through (the figure is ~1 MB)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.before = pid, rss_mb(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.before


@pytest.fixture
def big_file(tmp_path) -> tuple[Path, str]:
    path, digest = tmp_path / "big.bin", hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(SIZE // (1024 * 1024)):
            block = os.urandom(1024 * 1024)
            out.write(block)
            digest.update(block)
    return path, digest.hexdigest()


def test_100_mb_single_put_and_get_round_trip_byte_for_byte(alice_s3, big_file, live_server_process):
    path, sha256 = big_file
    pid = live_server_process.proc.pid
    alice_s3.create_bucket(Bucket="large-objects")
    alice_s3.put_object(Bucket="large-objects", Key="warm", Body=b"x")  # the server's usual buffers, first
    alice_s3.get_object(Bucket="large-objects", Key="warm")["Body"].read()

    with PeakRss(pid) as upload, open(path, "rb") as body:
        put = alice_s3.put_object(Bucket="large-objects", Key="video/raw.bin", Body=body)
    digest, size = hashlib.sha256(), 0
    with PeakRss(pid) as download:
        got = alice_s3.get_object(Bucket="large-objects", Key="video/raw.bin")
        assert got["ContentLength"] == SIZE and got["ETag"] == put["ETag"]
        for chunk in got["Body"].iter_chunks(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    assert size == SIZE and digest.hexdigest() == sha256

    assert upload.growth < MEMORY_BOUND_MB, f"server grew {upload.growth:.0f} MB during the PUT"
    assert download.growth < MEMORY_BOUND_MB, f"server grew {download.growth:.0f} MB during the GET"
