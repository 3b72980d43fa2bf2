"""A real `make run` (scripts/run.sh and its supervisor) on private ports, for the tests and benchmarks
that kill its processes or load it: its own state directory, Redis, Docker network and Runtime API ports.
"""
from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                '"Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_block(size: int = 16) -> tuple[int, int]:
    """A run of free ports away from make run's Runtime API ports (29001-29032)."""
    for _ in range(50):
        first = random.randrange(40000, 44000, size)
        try:
            for port in range(first, first + size):
                with socket.socket() as s:
                    s.bind(("0.0.0.0", port))
            return first, first + size - 1
        except OSError:
            continue
    raise RuntimeError("no free port block")


class Stack:
    """scripts/run.sh as a subprocess, and what its supervisor said."""

    def __init__(self, base: Path, **settings: str) -> None:
        self.base = base
        self.port = free_port()
        self.trigger_port = free_port()
        first, last = free_port_block()
        self.network = f"lambda-sup-{uuid.uuid4().hex[:6]}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_DB", "SQLITE_PATH")}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "console.settings", "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port), "LAMBDA_TRIGGER_PORT": str(self.trigger_port), "REDIS_PORT": str(free_port()),
            "LAMBDA_ENDPOINT_PORT": str(free_port()),
            "LAMBDA_VAR_DIR": str(base), "REDIS_DIR": str(base / "redis"),
            "REDIS_PASSWORD_FILE": str(base / "redis.password"), "LAMBDA_DOCKER_NETWORK": self.network,
            "LAMBDA_RUNTIME_API_PORTS": f"{first}-{last}", "LAMBDA_WORKER_THREADS": "8",
            "DJANGO_SUPERUSER_PASSWORD": uuid.uuid4().hex, "TZ": "UTC", **settings,
        })
        self.log_path = base / "run.log"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.trigger_url = f"http://127.0.0.1:{self.trigger_port}"

    def start(self, timeout: float = 120) -> None:
        self.proc = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while "celery@" not in self.log() or " ready." not in self.log() or not self.healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"make run exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"make run not ready:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Ctrl-C, as an operator stops it; SIGKILL to the group if it does not stop in a minute."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        subprocess.run(["docker", "network", "rm", self.network], capture_output=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def pids(self) -> dict[str, int]:
        """Each process's latest pid, as the supervisor announced it."""
        return {name: int(pid) for name, pid in re.findall(r"\| (\w+) started \(pid (\d+)\)", self.log())}

    def pid_of(self, name: str) -> int:
        """The process to kill: the command itself, or for a pipeline its redis-server."""
        leader = self.pids()[name]
        if name != "redis":
            return leader
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            comm, fields = text.split("(", 1)[1].rsplit(")", 1)[0], text.rsplit(")", 1)[1].split()
            if int(fields[2]) == leader and comm == "redis-server":  # fields[2]: process group
                return int(stat.parent.name)
        raise AssertionError("no redis-server in its process group")

    def manage(self, *args: str) -> str:
        return subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, check=True).stdout

    def lambda_client(self, **config):
        """boto3 for the operator's account, without retries: an error shows as it happened."""
        if not hasattr(self, "_keys"):
            self._keys = dict(line.split("=", 1) for line in self.manage("create_access_key", "operator").split())
        return boto3.client("lambda", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self._keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self._keys["AWS_SECRET_ACCESS_KEY"],
                            config=Config(retries={"total_max_attempts": 1}, **config))

    def lambda_role(self, name: str = "bench-lambda") -> str:
        """The ARN of a role of the operator's account that trusts Lambda, made through IAM's API once."""
        client = self.lambda_client()
        credentials = client._request_signer._credentials
        iam = boto3.client("iam", endpoint_url=self.url, region_name="us-east-1",
                           aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                           config=Config(retries={"total_max_attempts": 1}))
        try:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]

    def query(self, sql: str, *args) -> list[tuple]:
        """Read the stack's SQLite database (as `make run` configures it)."""
        with sqlite3.connect(self.base / "db.sqlite3", timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def invocation_rows(self) -> int:
        return self.query("select count(*) from console_invocation")[0][0]
