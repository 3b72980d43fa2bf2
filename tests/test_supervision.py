"""`make run` under faults: each process SIGKILLed in turn while the rest keep serving.

The real stack (scripts/run.sh with the Procfile: Redis, web, triggers, endpoint, worker, recorder, beat)
on its own ports, state directory, Redis and Docker network, as an operator would run it.
Recovery times are printed (pytest -s shows them) for docs/OPERATIONS.md.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from bench.stack import ROOT, Stack

from .api_helpers import create_hello
from .conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.supervision]

RECOVERY = 10.0  # seconds: the service answers again this soon after any one process dies


# A console session for the stack's user, made in its database as a login would.
SESSION = ("from django.conf import settings; from django.contrib.auth import get_user_model; "
           "from django.contrib.sessions.backends.db import SessionStore; "
           "u = get_user_model().objects.get(username='operator'); s = SessionStore(); "
           "s.update({'_auth_user_id': str(u.pk), '_auth_user_hash': u.get_session_auth_hash(), "
           "'_auth_user_backend': 'django.contrib.auth.backends.ModelBackend'}); s.create(); "
           "print(settings.SESSION_COOKIE_NAME + '=' + s.session_key)")


def open_log_socket(stack: Stack, function: str) -> socket.socket:
    """The console's live-log websocket of `function`, opened as the browser does (cookie, Origin)."""
    cookie = stack.manage("shell", "-v", "0", "-c", SESSION).strip().splitlines()[-1]
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    sock.sendall((f"GET /ws/functions/{function}/logs HTTP/1.1\r\nHost: 127.0.0.1:{stack.port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                  f"Origin: {stack.url}\r\nCookie: {cookie}\r\n\r\n").encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def listen(sock: socket.socket, text: str, timeout: float = 5.0) -> str:
    """"received" when `text` arrives on the socket within `timeout`, "closed" or "silent" if not."""
    data, deadline = b"", time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionError:
            return "closed"
        if not chunk:
            return "closed"
        data += chunk
        if text.encode() in data:
            return "received"
    return "silent"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"


class HealthWatch:
    """Polls /health every 0.1 s from a thread: how long it failed, in all."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.failed_for, self.stop = stack, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            if not self.stack.healthy():
                self.failed_for += time.monotonic() - started + 0.1
            self.stop.wait(0.1)

    def finish(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.failed_for


@pytest.fixture(scope="module")
def stack():
    base = Path(settings.VAR_DIR) / f"supervision-{uuid.uuid4().hex[:6]}"
    base.mkdir(parents=True)
    stack = Stack(base)
    # An engine that answers before run.sh starts is one run.sh neither starts nor stops: another
    # test (pytest -m dockerd_restart) may be restarting the shared one.
    eventually(lambda: subprocess.run(["docker", "info"], capture_output=True, check=True), timeout=60, interval=1)
    try:
        stack.start()
        stack.client = stack.lambda_client()
        create_hello(stack.client, "steady")
        yield stack
    finally:
        stack.stop()
        if stack.log_path.exists():  # the supervisor's output, to read after a failure
            shutil.copy(stack.log_path, base.parent / "supervision.log")
        shutil.rmtree(base, ignore_errors=True)


def invoke_until_ok(stack: Stack, since: float) -> float:
    """Seconds from `since` until a synchronous invocation answers (fails after RECOVERY)."""
    while True:
        try:
            response = stack.client.invoke(FunctionName="steady", Payload=b'{"n": 1}')
            if response["StatusCode"] == 200 and "FunctionError" not in response:
                return time.monotonic() - since
        except Exception:
            pass
        assert time.monotonic() - since < RECOVERY, "no successful invocation within 10 s of the kill"
        time.sleep(0.1)


def kill_and_wait_restart(stack: Stack, name: str) -> tuple[int, float, dict[str, int]]:
    """SIGKILL one process; wait for the supervisor to say so and start a new one."""
    before = stack.pids()
    victim = stack.pid_of(name)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    while stack.pids()[name] == before[name]:
        assert time.monotonic() - killed_at < RECOVERY, f"{name} not restarted:\n{stack.log()[-3000:]}"
        time.sleep(0.05)
    restarted_after = time.monotonic() - killed_at
    # One line names the process, how it ended and the restart.
    assert re.search(rf"\| {name} \(pid {before[name]}\) exited with (signal SIGKILL|status 137); restarting",
                     stack.log())
    return victim, killed_at, before


def containers(stack: Stack) -> dict[str, str]:
    """The stack's function containers: id -> the worker that made it."""
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"network={stack.network}", "--format",
                          '{{.ID}} {{.Label "lambda.worker"}}'], capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("name", ["worker", "beat", "triggers", "endpoint"])
def test_a_killed_process_is_restarted_while_the_console_keeps_answering(stack, name):
    stack.client.invoke(FunctionName="steady", Payload=b"{}")  # a warm container
    left = set(containers(stack))
    watch = HealthWatch(stack)
    victim, killed_at, before = kill_and_wait_restart(stack, name)
    restarted = time.monotonic() - killed_at
    invoked = invoke_until_ok(stack, killed_at)
    assert watch.finish() == 0.0  # the console never stopped answering
    after = stack.pids()
    assert not alive(victim) and alive(after[name])
    assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}
    print(f"\n{name}: restarted after {restarted:.1f} s, invocation OK {invoked:.1f} s after the kill")
    if name == "worker":
        # The new worker removes the dead one's containers once its heartbeat has lapsed.
        while left & set(containers(stack)):
            assert time.monotonic() - killed_at < 20, "the dead worker's containers were not removed"
            time.sleep(0.2)
        print(f"worker: its orphaned containers removed {time.monotonic() - killed_at:.1f} s after the kill")


def test_the_recorder_drains_what_was_queued_while_it_was_down(stack):
    rows = stack.invocation_rows()
    watch = HealthWatch(stack)
    victim = stack.pid_of("recorder")
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    for _ in range(5):  # answered while no recorder runs: their records wait in Redis
        assert stack.client.invoke(FunctionName="steady", Payload=b"{}")["StatusCode"] == 200
    # The service answers throughout (checked below); the records only have to arrive, in a
    # bounded time (seen once at over 10 s in a full run, while the machine was loaded).
    deadline = killed_at + 3 * RECOVERY
    while stack.invocation_rows() < rows + 5:
        assert time.monotonic() < deadline, (
            f"records not written within {3 * RECOVERY:.0f} s: {stack.invocation_rows() - rows} of 5; recorder's "
            f"output: {[line for line in stack.log().splitlines() if 'recorder' in line][-10:]}")
        time.sleep(0.1)
    assert watch.finish() == 0.0
    assert re.search(r"\| recorder \(pid \d+\) exited with signal SIGKILL; restarting", stack.log())
    print(f"\nrecorder: records written {time.monotonic() - killed_at:.1f} s after the kill")


# A schedule of 6 s (below AWS's 1 minute, set straight on its beat task) keeps the test short.
TICKER = ("from console.models import Function; from console.services.triggers import schedule_trigger_add; "
          "from django_celery_beat.models import IntervalSchedule as I; "
          "fn = Function.objects.get(name='steady'); rule = schedule_trigger_add(fn.account, fn, 'ticker', "
          "'rate(1 minute)'); task = rule.periodic_task; "
          "task.interval = I.objects.get_or_create(every=6, period=I.SECONDS)[0]; task.save()")


def test_beat_neither_repeats_nor_skips_a_schedule_across_its_restart(stack):
    def firings() -> list[float]:
        rows = stack.query("select received from console_invocation where source = 'schedule' order by received")
        return [dt.datetime.fromisoformat(row[0]).timestamp() for row in rows]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 30
        while len(firings()) < count:
            assert time.monotonic() < deadline, f"{len(firings())} firings, waiting for {count}"
            time.sleep(0.1)

    stack.manage("shell", "-c", TICKER)
    wait_for(2)
    for pause in (0.0, 3.0):  # killed just after a firing, and halfway to the next
        wait_for(len(firings()) + 1)
        time.sleep(pause)
        kill_and_wait_restart(stack, "beat")
        wait_for(len(firings()) + 2)
    stack.manage("shell", "-c", "from django_celery_beat.models import PeriodicTask as P; "
                 "P.objects.filter(name__contains=':ticker').update(enabled=False)")
    times = firings()
    # When each beat was up again (its log's clock, UTC as the database's: bench/stack.py sets TZ).
    starts = [dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
              for stamp in re.findall(r"\| (\S+ \S+) INFO celery\.beat: beat: Starting\.\.\.", stack.log())]
    for earlier, later in zip(times, times[1:]):
        # No repeat: a repeat would come within seconds of its firing.
        assert later - earlier >= 3.0, (later - earlier, times)
        # No skip: the next firing comes on time, or, when beat was down at that time, as soon as it
        # is back; a skipping beat would wait for the next period (6 s more).
        back = [start for start in starts if earlier < start < later]
        due = max(earlier + 6.0, back[0] if back else 0.0)
        assert later <= due + 2.5, (later - earlier, later - due, times, starts)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    print(f"\nbeat: {len(times)} firings of a 6 s schedule across two restarts, gaps "
          f"{', '.join(f'{gap:.1f}' for gap in gaps)} s")


def test_the_web_process_is_back_within_ten_seconds(stack):
    victim, killed_at, before = kill_and_wait_restart(stack, "web")
    while not stack.healthy():
        assert time.monotonic() - killed_at < RECOVERY, "console not back within 10 s"
        time.sleep(0.05)
    back = time.monotonic() - killed_at
    invoked = invoke_until_ok(stack, killed_at)
    after = stack.pids()
    assert after["worker"] == before["worker"] and after["redis"] == before["redis"]
    print(f"\nweb: console back {back:.1f} s, invocation OK {invoked:.1f} s after the kill")


def test_web_and_worker_reconnect_to_a_restarted_redis_without_restarting(stack):
    before = stack.pids()
    logs = open_log_socket(stack, "steady")  # joined its group in Redis before the restart
    _, killed_at, _ = kill_and_wait_restart(stack, "redis")
    invoked = invoke_until_ok(stack, killed_at)
    while not stack.healthy():
        assert time.monotonic() - killed_at < RECOVERY
        time.sleep(0.05)
    after = stack.pids()
    # Only Redis was restarted: everything else found it again on its own.
    assert {k: v for k, v in after.items() if k != "redis"} == {k: v for k, v in before.items() if k != "redis"}
    assert all(alive(stack.pid_of(name)) for name in after)
    # A live log page open across the restart is either still streaming or was closed, and then
    # reconnects (static/console/js/live_logs.js); never silently stuck. Reconnected, it streams.
    request_id = stack.client.invoke(FunctionName="steady", Payload=b"{}")["ResponseMetadata"]["RequestId"]
    assert listen(logs, request_id) in ("received", "closed")
    logs.close()
    logs = open_log_socket(stack, "steady")
    request_id = stack.client.invoke(FunctionName="steady", Payload=b"{}")["ResponseMetadata"]["RequestId"]
    assert listen(logs, request_id) == "received"
    logs.close()
    print(f"\nredis: invocation OK {invoked:.1f} s after the kill")


def test_ctrl_c_stops_everything_and_leaves_nothing_behind(stack):
    stack.client.invoke(FunctionName="steady", Payload=b"{}")  # a warm container to clean up
    pids = [stack.pid_of(name) for name in stack.pids()]
    bridge = re.search(rf"network policy installed for {stack.network} \(bridge ([\w-]+)\)", stack.log())[1]
    assert f"LAMBDA-IN-{bridge}" in subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(90) == 0
    assert not [pid for pid in pids if alive(pid)]
    containers = subprocess.run(["docker", "ps", "-aq", "--filter", f"network={stack.network}"],
                                capture_output=True, text=True, check=True).stdout.split()
    assert containers == []
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    assert f"LAMBDA-IN-{bridge}" not in rules and f"LAMBDA-FWD-{bridge}" not in rules
    assert "stopping dockerd" not in stack.log()  # the engine was running before: it stays


def test_supervisor_backs_off_between_restarts_and_leaves_the_others_alone(tmp_path):
    """scripts/supervise.py alone, on a Procfile of two shell commands: no stack needed."""
    (tmp_path / "Procfile").write_text("# a comment\ncrash: echo up; exit 3\nsteady: sleep 60\n")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-u", str(ROOT / "scripts/supervise.py"),
                             "-f", str(tmp_path / "Procfile")], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    time.sleep(3.6)  # starts at 0, 1 and 3 s: the pause doubles
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    reader.join(5)
    output = "".join(lines)
    assert re.search(r"\| crash \(pid \d+\) exited with status 3; restarting it in 1 s \(restart 1\)", output)
    assert re.search(r"\| crash \(pid \d+\) exited with status 3; restarting it in 2 s \(restart 2\)", output)
    assert output.count("| up") == 3
    assert len(re.findall(r"\| steady started \(pid (\d+)\)", output)) == 1
    steady = int(re.search(r"\| steady started \(pid (\d+)\)", output)[1])
    assert "steady stopped (signal SIGTERM)" in output and not alive(steady)
