"""Several Daphne processes answering one listening socket: the web tier on more than one core.

    python scripts/daphnes.py --processes N -b HOST -p PORT APP

One Daphne runs its Python code under one interpreter lock, so however many cores a machine
has, one process serves at most about one core's worth of requests (S3's small PUTs hit that
first: docs/PERFORMANCE.md). This opens the socket once and starts N Daphnes on it
(`daphne --fd`); the kernel hands each new connection to one of them. Websockets work across
them as they do across machines: their groups live in Redis.

It stays the one process its supervisor sees (scripts/supervise.py): a signal it gets is passed
on to every Daphne; when one Daphne dies the others are stopped and it exits with that status,
so the supervisor restarts the whole set, on a socket bound again. Its Daphnes die with it
(PR_SET_PDEATHSIG), so a killed launcher never leaves the port held. N = 1 is plain Daphne.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_GRACE = 10.0


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("-b", "--bind", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("app")
    args = parser.parse_args(argv)
    daphne = str(Path(sys.executable).parent / "daphne")
    if args.processes <= 1:
        os.execv(daphne, [daphne, "-b", args.bind, "-p", str(args.port), args.app])
    listener = socket.create_server((args.bind, args.port), backlog=1024)  # SO_REUSEADDR on POSIX
    listener.set_inheritable(True)
    fd = listener.fileno()
    children = [subprocess.Popen([daphne, "--fd", str(fd), args.app], pass_fds=(fd,), preexec_fn=_die_with_parent)
                for _ in range(args.processes)]

    def forward(signum, _frame) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    status = 0
    while True:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        for child in children:
            if child.pid == pid:
                child.returncode = os.waitstatus_to_exitcode(raw)
                status = status or (child.returncode if child.returncode > 0 else 128 - child.returncode)
        # One gone: the others follow, and the supervisor starts the set again.
        for child in children:
            if child.returncode is None:
                child.terminate()
        for child in children:
            if child.returncode is None:
                try:
                    child.wait(STOP_GRACE)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        break
    listener.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
