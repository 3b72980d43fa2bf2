"""The calls of a benchmark: timed when they succeed, counted when they fail.

Every call a benchmark times goes through a `Tally`: a function error, a non-2xx answer or
an exception is an error, never a figure, and `report` exits non-zero after printing the
figures, so a broken setup cannot look like a fast one. No Django here: tests use it as is.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from typing import Callable

SAMPLES = 5  # error messages kept for the report


class CallFailed(Exception):
    """A call answered, but not with a success (a function error, a non-2xx status)."""


class Tally:
    """Successes and errors of the calls of one benchmark, safe to share between threads."""

    def __init__(self) -> None:
        self.errors = 0
        self.samples: list[str] = []
        self._lock = threading.Lock()

    def error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            if len(self.samples) < SAMPLES:
                self.samples.append(f"{type(exc).__name__}: {exc}"[:300])

    def failed(self, count: int, message: str) -> None:
        """Errors counted by another client (wrk's non-2xx answers and socket errors)."""
        if count:
            with self._lock:
                self.errors += count
                if len(self.samples) < SAMPLES:
                    self.samples.append(f"{count} x {message}")

    def call(self, call: Callable[[], object]) -> bool:
        """Run one call; False (and one more error) when it failed in any way."""
        try:
            call()
        except Exception as exc:
            self.error(exc)
            return False
        return True

    def timed(self, call: Callable[[], object]) -> float | None:
        """Milliseconds of one successful call, None when it failed."""
        start = time.perf_counter()
        if not self.call(call):
            return None
        return (time.perf_counter() - start) * 1000

    def series(self, call: Callable[[], object], count: int) -> list[float]:
        """Latencies of `count` sequential calls; the failed ones are errors, not figures."""
        return [ms for ms in (self.timed(call) for _ in range(count)) if ms is not None]

    def throughput(self, make_call: Callable[[], Callable[[], object]], clients: int, seconds: float) -> float:
        """Successful calls per second over `seconds`, `clients` at a time.

        Every client makes a first (maybe cold) call, then the clock starts for all of them
        at once, so environment start-up is not counted as throughput. A client whose setup
        raises still reaches the start line (else the others would wait forever) and counts
        as an error.
        """
        done = 0
        lock = threading.Lock()
        ready = threading.Barrier(clients + 1)
        window = {"stop": float("inf")}

        def run() -> None:
            nonlocal done
            call = None
            try:
                call = make_call()
                if not self.call(call):
                    call = None
            except BaseException as exc:
                self.error(exc)
            ready.wait()
            count = 0
            try:
                while call is not None and time.perf_counter() < window["stop"]:
                    count += self.call(call)
            except BaseException as exc:
                self.error(exc)
            finally:
                with lock:
                    done += count

        threads = [threading.Thread(target=run) for _ in range(clients)]
        for t in threads:
            t.start()
        ready.wait()
        began = time.perf_counter()
        window["stop"] = began + seconds
        for t in threads:
            t.join()
        return done / (time.perf_counter() - began)

    def report(self, figures: dict) -> None:
        """Print the figures as one JSON object with the error count; exit 1 if any call failed."""
        figures = {**figures, "errors": self.errors}
        if self.samples:
            figures["error_samples"] = self.samples
        figures["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "kernel": platform.release()}
        print(json.dumps(figures), flush=True)
        if self.errors:
            print(f"{self.errors} call(s) failed; the figures above are not valid", file=sys.stderr)
            raise SystemExit(1)


def expect_success(status: int, function_error: str | None, payload: bytes) -> None:
    """Raise CallFailed unless the invocation answered 200 without a function error."""
    if function_error or status != 200:
        raise CallFailed(f"{status} {function_error}: {payload[:200]!r}")


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)
