"""A function abusing the Runtime API or its output breaks only itself (issue 8, holes 4 and 6).

Each test runs the abuse from inside a real function, through the real worker, and checks
what a user and an operator would: the invocation's error, the worker's memory, and that
the next invocation (of another function, and of the same one) works.
"""
from __future__ import annotations

import json
import time

import pytest

from console.codestore import make_zip
from console.models import Invocation, LogEvent
from console.services.functions import function_create
from executor import containers
from executor.invoke import invoke

from .conftest import eventually, python_function

pytestmark = pytest.mark.integration

MB = 1024 * 1024


def rss(pid: int) -> int:
    """The worker process's resident memory, in bytes (/proc/<pid>/status, VmRSS in kB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def function_containers(fn) -> list[dict]:
    return containers.client().api.containers(filters={"label": f"lambda.function={fn.arn}"})


def error_of(result) -> dict:
    assert result.function_error == "Unhandled", result.payload
    return json.loads(result.payload)


def healthy(account) -> None:
    """Another function, invoked right after, answers normally."""
    other = python_function(account, "def lambda_handler(event, context):\n    return {'fine': True}\n")
    result = invoke(other, "{}")
    assert result.function_error is None and json.loads(result.payload) == {"fine": True}


# A provided.al2023 runtime in bash (the image has bash and curl): it takes its event, then
# answers with a chunked body whose first chunk claims 0x7fffffffffff bytes (128 TiB).
HUGE_CHUNK_BOOTSTRAP = r"""#!/bin/bash
set -u
API=$AWS_LAMBDA_RUNTIME_API
while true; do
  HEADERS=$(mktemp)
  curl -sS -D "$HEADERS" -o /dev/null "http://$API/2018-06-01/runtime/invocation/next"
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  exec 3<>"/dev/tcp/${API%:*}/${API#*:}"
  printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffff\r\n' "$ID" "$API" >&3
  head -c 65536 /dev/zero >&3 2>/dev/null
  echo "runtime api said: $(head -n 1 <&3)"
  sleep 60
done
"""


def test_a_huge_chunk_declaration_breaks_only_its_environment(worker, alice_account):
    # Runtime API bounds: responses are at most 6 MB (Lambda quotas page, "Invocation payload").
    fn = function_create(alice_account, "huge-chunk", runtime="provided.al2023", handler="x.y", timeout=20,
                         zip_file=make_zip({"bootstrap": HUGE_CHUNK_BOOTSTRAP}, executable=("bootstrap",)))
    healthy(alice_account)  # the worker is up and warm before measuring
    before = rss(worker.pid)
    started = time.monotonic()
    result = invoke(fn, "{}", log_type="Tail")
    assert time.monotonic() - started < 15  # answered at once, not cut by the function's timeout
    error = error_of(result)
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert rss(worker.pid) - before < 50 * MB
    eventually(lambda: None if function_containers(fn) else True, timeout=15)  # its environment is gone
    healthy(alice_account)
    again = invoke(fn, "{}")  # a fresh environment of the same function: the same answer, nothing stuck
    assert error_of(again)["errorType"] == "Function.ResponseSizeTooLarge"
    assert again.init_duration_ms is not None


HEADER_FLOOD = """
import os, socket, time

def lambda_handler(event, context):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    request = f"POST /2018-06-01/runtime/invocation/{context.aws_request_id}/response HTTP/1.1\\r\\n".encode()
    try:
        sock.sendall(request + b"X-Flood: 1\\r\\n" * 2_000_000)
    except OSError:
        pass
    print("runtime api said:", sock.recv(64))
    time.sleep(30)
    return "never"
"""

CONNECTION_FLOOD = """
import os, socket, time

def lambda_handler(event, context):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    held = []
    for _ in range(500):
        try:
            held.append(socket.create_connection((host, int(port)), timeout=2))
        except OSError:
            break
    time.sleep(30)
    return len(held)
"""


@pytest.mark.parametrize("source, reason", [
    (HEADER_FLOOD, "more than 100 headers"),
    (CONNECTION_FLOOD, "more than 16 connections"),
])
def test_a_flood_breaks_only_its_environment(worker, alice_account, source, reason):
    fn = python_function(alice_account, source, timeout=20)
    healthy(alice_account)
    before = rss(worker.pid)
    started = time.monotonic()
    result = invoke(fn, "{}", log_type="Tail")
    assert time.monotonic() - started < 15
    error = error_of(result)
    assert error["errorType"] == "Runtime.ExitError" and reason in error["errorMessage"]
    assert rss(worker.pid) - before < 50 * MB
    eventually(lambda: None if function_containers(fn) else True, timeout=15)
    healthy(alice_account)


# --- Output (hole 6) ------------------------------------------------------------------------

def test_a_function_printing_without_end_is_cut_and_its_log_is_bounded(worker, alice_account):
    fn = python_function(alice_account, """
import sys
def lambda_handler(event, context):
    line = "x" * 10_240 + "\\n"
    while True:
        sys.stdout.write(line)
""", timeout=10)
    healthy(alice_account)
    before = rss(worker.pid)
    result = invoke(fn, "{}", log_type="Tail")
    assert error_of(result)["errorType"] == "Sandbox.Timedout"
    grown = rss(worker.pid) - before
    assert grown < 100 * MB, f"worker grew by {grown / MB:.0f} MB"
    # Stored lines: the 2 MB budget (counted as CloudWatch counts, 26 bytes a line), the
    # platform's own lines and one notice of what was dropped.
    events = eventually(lambda: list(LogEvent.objects.filter(request_id=result.request_id)
                                     .order_by("sequence").values_list("message", flat=True)) or None)
    output = [m for m in events if m.startswith("x")]
    assert len(output) == 2 * MB // (10_240 + 26)
    notices = [m for m in events if m.startswith("[lambda] ")]
    assert len(notices) == 1 and notices[0].endswith("log lines dropped: output over 2 MB")
    assert int(notices[0].split()[1]) > 1000  # it printed far more than it kept
    assert sum(len(m) for m in events) < 2 * MB + 10_000
    assert "Task timed out after 10.00 seconds" in result.log_tail and "REPORT RequestId" in result.log_tail
    assert len(result.log_tail.encode()) <= 4096
    healthy(alice_account)


def test_a_1_mb_line_is_stored_as_256_kb_events(worker, alice_account):
    # CloudWatch Logs: an event is at most 256 KB with 26 bytes of overhead (PutLogEvents).
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    print("".join(chr(ord("a") + i % 26) for i in range(1024 * 1024)))
    return "ok"
""")
    result = invoke(fn, "{}")
    assert result.function_error is None
    events = eventually(lambda: list(LogEvent.objects.filter(request_id=result.request_id)
                                     .order_by("sequence").values_list("message", flat=True)) or None)
    pieces = [m for m in events if m[:1].islower()]  # not START, END or REPORT
    assert len(pieces) == 5 and all(len(p.encode()) <= 256 * 1024 - 26 for p in pieces)
    assert "".join(pieces) == "".join(chr(ord("a") + i % 26) for i in range(1024 * 1024))
    assert Invocation.objects.get(request_id=result.request_id).status == Invocation.Status.SUCCEEDED
