"""aws-cli's own timing of the same transfers, for comparison: `aws s3 cp` up and down.

Part of bench/s3.py. Each `aws s3 cp` is a whole process (Python start-up, botocore's models,
the transfer manager), so a 1 KB copy measures mostly the CLI; at 100 MB it sends eight-MB
parts (multipart upload) and downloads with ranged GETs, several at a time, as it does
against AWS. Wall-clock time of each command, the median of `repeat` runs.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AWS = str(Path(sys.executable).parent / "aws")


class CliFailed(Exception):
    pass


class CliPending(Exception):
    """The CLI used an S3 operation this tree does not serve yet (501 NotImplemented)."""


def _env(key: str, secret: str, home: str) -> dict:
    """Only these credentials and no file of the machine's own AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.path.join(home, "config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "HOME": home})
    return env


def _timed(args: list[str], env: dict) -> float:
    began = time.perf_counter()
    done = subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        if "(501)" in done.stderr or "NotImplemented" in done.stderr:
            raise CliPending(f"aws {' '.join(args[:2])} needs an operation not served yet: {done.stderr.strip()[-200:]}")
        raise CliFailed(f"aws {' '.join(args[:3])}: {done.stderr.strip()[-400:]}")
    return elapsed


def cli_timings(url: str, key: str, secret: str, bucket: str, big_mb: int, repeat: int = 3) -> dict:
    """Seconds for `aws s3 cp` of 1 KB and `big_mb` MB, each way (median of `repeat`)."""
    figures = {}
    with tempfile.TemporaryDirectory() as home:
        env = _env(key, secret, home)
        small, big = Path(home, "small.bin"), Path(home, "big.bin")
        small.write_bytes(os.urandom(1024))
        with open(big, "wb") as out:
            for _ in range(big_mb):
                out.write(os.urandom(1024 * 1024))
        for name, path in (("1kb", small), (f"{big_mb}mb", big)):
            target = f"s3://{bucket}/cli/{path.name}"
            up = [_timed(["s3", "cp", str(path), target, "--endpoint-url", url, "--only-show-errors"], env)
                  for _ in range(repeat)]
            back = Path(home, f"back-{path.name}")
            down = [_timed(["s3", "cp", target, str(back), "--endpoint-url", url, "--only-show-errors"], env)
                    for _ in range(repeat)]
            if back.read_bytes() != path.read_bytes():
                raise CliFailed(f"aws s3 cp of {name} came back different")
            back.unlink()
            figures[f"aws_cli_cp_{name}_up_seconds"] = round(statistics.median(up), 2)
            figures[f"aws_cli_cp_{name}_down_seconds"] = round(statistics.median(down), 2)
        began = time.perf_counter()
        subprocess.run([AWS, "--version"], env=env, capture_output=True, check=True)
        figures["aws_cli_start_seconds"] = round(time.perf_counter() - began, 2)  # the CLI's own floor
    return figures
