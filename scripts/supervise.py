#!/usr/bin/env python3
"""`make run`'s process supervisor: the Procfile's processes, each restarted when it dies.

    scripts/supervise.py [-f Procfile] [NAME ...]

Starts the named processes of the Procfile (all when none is named), each through `bash -c`
(which becomes the command itself, unless it is a pipeline) in a process group of its own,
and prefixes their output with the time and their name, as honcho did. Unlike honcho, a
process that exits is started again, after a pause that doubles from 1 s up to 30 s and
starts over once it has stayed up a minute; the others keep running. One line says which
process ended, how, and when it restarts. SIGINT, SIGTERM or SIGHUP stops them all, one at a
time in reverse order of the command line (run.sh names Redis first, so it stops last), each
given SUPERVISE_STOP_TIMEOUT seconds before SIGKILL (default: the worker's
LAMBDA_WORKER_STOP_GRACE, 30, plus 30 s to remove its containers, which SIGKILL would leave).

Our own ~200 lines rather than supervisord 4.3 or circus 0.19: each wants a configuration file
of its own (the process list would live in two places, or be generated from the Procfile),
and supervisord backs off only for a process failing while it starts: one that crashes after
running is restarted at once, in a tight loop if it keeps crashing.
"""
from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FIRST_DELAY = 1.0  # seconds before the first restart
MAX_DELAY = 30.0
STABLE_AFTER = 60.0  # up this long, a process's next crash starts the backoff over
POLL = 0.1

_print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    with _print_lock:
        try:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<9}| {line}\n")
            sys.stdout.flush()
        except OSError:
            pass  # the terminal went away (closed window): keep supervising, and stop cleanly


def read_procfile(path: Path) -> dict[str, str]:
    """Procfile lines `name: command`, in order; blank lines and # comments skipped."""
    commands: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line)
        if not match:
            raise SystemExit(f"{path}:{number}: not `name: command`")
        commands[match[1]] = match[2]
    return commands


def describe(returncode: int) -> str:
    """`status 1`, or `signal SIGKILL` for a process a signal ended (sh reports it as 128+n)."""
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    if number:
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:
            pass
    return f"status {returncode}"


def _die_with_parent() -> None:
    # A supervisor killed outright (SIGKILL) takes its processes with it instead of orphaning them.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Process:
    name: str
    command: str
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = FIRST_DELAY
    restart_at: float | None = None  # when a dead process is due to start again
    restarts: int = 0
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", self.command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        say("system", f"{self.name} started (pid {self.proc.pid})")
        self.reader = threading.Thread(target=self._copy_output, args=(self.proc,), daemon=True)
        self.reader.start()

    def _copy_output(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            say(self.name, raw.decode(errors="replace").rstrip("\n"))
        proc.stdout.close()

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _group_alive(self) -> bool:
        """Whether a process of its group still runs (a zombie waiting for init to reap it does not)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _, pgid = stat.read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue
            if int(pgid) == self.proc.pid and state != "Z":
                return True
        return False

    def check(self, now: float) -> None:
        """Notice a death and schedule the restart; start it when due."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.start()
            return
        returncode = self.proc.poll()
        if returncode is None:
            return
        self.signal_group(signal.SIGKILL)  # whatever it left behind in its group (a pipeline's other side)
        if now - self.started_at >= STABLE_AFTER:
            self.delay = FIRST_DELAY
        say("system", f"{self.name} (pid {self.proc.pid}) exited with {describe(returncode)}; "
                      f"restarting it in {self.delay:g} s (restart {self.restarts + 1})")
        self.restart_at = now + self.delay
        self.delay = min(self.delay * 2, MAX_DELAY)

    def stop(self, timeout: float) -> None:
        if self.proc is None or self.restart_at is not None or self.proc.poll() is not None:
            self.signal_group(signal.SIGKILL) if self.proc else None
            return
        self.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        try:
            self.proc.wait(timeout)
            # A pipeline's members (redis-server behind its shell) finish their own shutdown too.
            while self._group_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            say("system", f"{self.name} stopped ({describe(self.proc.returncode)})")
        except subprocess.TimeoutExpired:
            say("system", f"{self.name} did not stop within {timeout:g} s: killing it")
        self.signal_group(signal.SIGKILL)  # what did not stop in time
        self.proc.wait()
        if self.reader:
            self.reader.join(2)


def main(argv: list[str]) -> int:
    args = list(argv)
    procfile = Path("Procfile")
    if args[:1] == ["-f"]:
        procfile, args = Path(args[1]), args[2:]
    commands = read_procfile(procfile)
    unknown = [name for name in args if name not in commands]
    if unknown:
        raise SystemExit(f"not in {procfile}: {', '.join(unknown)}")
    processes = [Process(name, commands[name]) for name in (args or list(commands))]
    timeout = float(os.environ.get("SUPERVISE_STOP_TIMEOUT")
                    or float(os.environ.get("LAMBDA_WORKER_STOP_GRACE") or 30) + 30)

    received: list[int] = []

    def request_stop(signum: int, _frame) -> None:
        # Only noted here: a handler runs in the main thread between any two bytecodes, possibly
        # inside say() (Ctrl-C's SIGINT, then run.sh's SIGTERM), where printing would deadlock.
        received.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)
    for process in processes:
        if not received:
            process.start()
    while not received:
        now = time.monotonic()
        for process in processes:
            if process.proc is not None:
                process.check(now)
        time.sleep(POLL)
    say("system", f"{signal.Signals(received[0]).name} received: stopping everything")
    for process in reversed(processes):
        process.stop(timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
