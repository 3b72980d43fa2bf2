"""One execution environment: a sandbox, its runtime, and the invocation it is serving.

An environment serves one invocation at a time. The worker thread that runs an
invocation waits here; the Runtime API threads and the log reader thread report to it.
Its life is one state (executor/lifecycle.py); its sandbox (executor/sandbox.py) is a
Docker container on a worker, a fake in the unit tests.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Callable

from console.limits import SYNC_PAYLOAD_LIMIT as MAX_RESPONSE

from . import credentials, logs
from .attempt import Attempt, Delivery, DeliveryWaiter, Outcome, error_type_of
from .containers import Exit
from .lifecycle import LIVE, State, check
from .sandbox import Sandbox, SandboxFactory, SandboxFailed
from .spec import EnvSpec

log = logging.getLogger(__name__)

INIT_TIMEOUT = 10.0  # AWS gives a function's init phase 10 s
QUIET_WAIT = 0.005  # runtimes without an end marker: wait this long for late output

# Our own bootstraps end each invocation's output with a marker (see logs.SENTINEL_RE).
MARKED_RUNTIMES = ("python3.11", "nodejs18.x")


def now_ms() -> int:
    return int(time.time() * 1000)


class EnvironmentGone(Exception):
    """The environment is stopping: its runtime gets no more events."""


class EnvironmentFailed(Exception):
    """The sandbox could not be started at all."""


LineSink = Callable[[EnvSpec, str, str, int, str], None]  # (spec, log stream, request id, timestamp ms, message)


class Environment:
    def __init__(self, spec: EnvSpec, registry, sink: LineSink, make_sandbox: SandboxFactory) -> None:
        self.spec = spec
        self.key = spec.key
        self.id = uuid.uuid4().hex
        self.registry = registry
        self.sink = sink
        self.log_stream_name = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{spec.version}]{self.id}"
        # The role's session, minted here on the worker (credentials.py); renewed with an
        # invocation by our own runtimes, which also mark the end of each invocation's output.
        self.session = credentials.mint_for(spec)
        self.sandbox: Sandbox = make_sandbox(spec, self.id, self.log_stream_name, credentials.variables(self.session))
        self.marked = spec.package_type == "Zip" and spec.runtime in MARKED_RUNTIMES
        self.renews_credentials = self.marked
        self.cond = threading.Condition()
        self.state = State.STARTING
        self.broken_by = ""  # why it is BROKEN, for the worker's log and the tests
        self.created_at = time.monotonic()
        # The runtime's first GET /next: its init is over. Kept apart from the state, which
        # moves on, because the init's duration and the cold start's time limit count from it.
        self.ready_at: float | None = None
        self.last_used = time.monotonic()
        self.inbox: Attempt | None = None  # the invocation waiting for the runtime's GET /next
        self.parked: DeliveryWaiter | None = None  # a runtime waiting in GET /next
        self.current: Attempt | None = None
        self.max_log_bytes = _max_log_bytes()
        self.pending_log = logs.LogBuffer(self.max_log_bytes)  # output between invocations
        # What broke it, as the invocation's outcome reports it:
        self.violation: str | None = None  # the Runtime API bound its runtime passed
        self.init_failure: tuple[bytes, str] | None = None  # the runtime's /init/error
        self.init_failed_at: float | None = None
        self.exited: Exit | None = None  # how its sandbox ended
        self.interrupted = False  # stopped by the worker's own stop
        self.ip = ""
        self.invocations = 0

    # Life cycle -----------------------------------------------------------------------

    def _move(self, new: State) -> None:
        """Under self.cond: the one place the state changes; an illegal move raises."""
        check(self.id[:8], self.state, new)
        self.state = new
        self.cond.notify_all()

    def _break(self, why: str) -> None:
        """Under self.cond: never reuse this environment (once is enough)."""
        if self.state in LIVE or self.state is State.STARTING:
            self._move(State.BROKEN)
            self.broken_by = why

    def start(self) -> None:
        try:
            self.sandbox.start()  # EngineUnavailable goes up as it is: no function's fault
        except SandboxFailed as exc:
            raise EnvironmentFailed(str(exc))
        with self.cond:
            self._move(State.INITIALIZING)
        threading.Thread(target=self._read_output, daemon=True, name=f"logs-{self.id[:8]}").start()
        try:
            self.ip = self.sandbox.address()
        except Exception as exc:  # the container died before we could look at it
            log.warning("environment %s has no address: %s", self.id[:8], exc)
            return
        self.registry.add(self.ip, self)

    def stop(self, wait: bool = False) -> None:
        """Retire this environment; its sandbox is removed in the background unless `wait`."""
        with self.cond:
            already = self.state is State.STOPPED
            if not already:
                self._move(State.STOPPED)
        if self.ip:
            self.registry.remove(self.ip, self)
        if wait or not already:  # one removal in flight is enough
            self.sandbox.remove(wait)

    def interrupt(self, wait: bool = False) -> None:
        """The worker is stopping: end the invocation in progress (if unanswered) and retire this."""
        self.interrupted = True
        self.stop(wait=wait)

    def retire(self) -> None:
        """Let the invocation in progress end as it would, then stop: its function changed."""
        with self.cond:
            self._break("retired")

    @property
    def alive(self) -> bool:
        return self.state in LIVE

    def usable(self) -> bool:
        """Alive, and its credentials will last the next invocation (or can be renewed with it)."""
        return self.alive and (self.renews_credentials or credentials.lasts_an_invocation(self.session, self.spec))

    # Called by the Runtime API threads ---------------------------------------------------

    def next_invocation(self, waiter: "DeliveryWaiter") -> Delivery | None:
        """A runtime's GET /next: the waiting event at once, or None after parking the
        caller, whom invoke() then answers directly (no thread hand-off on the hot path)."""
        with self.cond:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                if self.state is State.INITIALIZING:  # else a cold start's invocation already made it BUSY
                    self._move(State.IDLE)
                self.cond.notify_all()
            if self.state is State.STOPPED or self.violation is not None:
                raise EnvironmentGone()
            if self.inbox is not None:
                return self._take_inbox()
            self.parked = waiter
            return None

    def _take_inbox(self) -> Delivery:
        """Under self.cond: hand the waiting event to the runtime and log START."""
        attempt, self.inbox = self.inbox, None
        attempt.delivered_at = time.monotonic()
        deadline = now_ms() + int(attempt.timeout * 1000)
        self._line(attempt, logs.start_line(attempt.request_id, self.spec.version))
        headers = {
            "Lambda-Runtime-Aws-Request-Id": attempt.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": attempt.invoked_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        if self.session is not None and self.renews_credentials and credentials.renewal_due(self.session, self.spec):
            self.session = credentials.mint_for(self.spec)
            headers[credentials.RENEW_HEADER] = credentials.renew_header(self.session)
        return Delivery(attempt.payload, headers)

    def complete(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        with self.cond:
            attempt = self.current
            if attempt is None or attempt.request_id != request_id or attempt.answered_at is not None \
                    or attempt.delivered_at is None:
                return False
            attempt.answered_at = time.monotonic()
            attempt.answer = body
            attempt.error_type = error_type
            self.cond.notify_all()
            return True

    def response_too_large(self, request_id: str) -> None:
        body = json.dumps({"errorMessage": _too_large_message(), "errorType": "Function.ResponseSizeTooLarge"}).encode()
        self.complete(request_id, body, "Function.ResponseSizeTooLarge")

    def runtime_api_violation(self, error_type: str, reason: str) -> None:
        """The runtime broke a bound of the Runtime API (runtime_api.py): the invocation it
        serves ends with `error_type`, and this environment is stopped, never reused."""
        with self.cond:
            if self.violation is not None:
                return
            self.violation = reason
            self._break("runtime API violation")
            attempt = self.current
            if attempt is not None and attempt.answered_at is None:
                rid = attempt.request_id
                if error_type == "Function.ResponseSizeTooLarge":
                    message = _too_large_message()
                else:
                    message = f"RequestId: {rid} Error: Runtime exited with error: Runtime API request refused: {reason}"
                    self._line(attempt, message)
                attempt.answered_at = time.monotonic()
                attempt.answer = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
                attempt.error_type = error_type
            self.cond.notify_all()
        self.stop()

    def init_error(self, body: bytes, error_type: str) -> None:
        with self.cond:
            self.init_failure = (body, error_type)
            self.init_failed_at = time.monotonic()
            self._break("init error")
            self.cond.notify_all()

    # The log reader thread ---------------------------------------------------------------

    def _read_output(self) -> None:
        splitter = logs.LineSplitter(self._on_output, self._on_end)
        for chunk in self.sandbox.output():
            splitter.feed(chunk)
        splitter.flush()
        exit_info = self.sandbox.wait_exit() if self.state is not State.STOPPED else Exit(-1, False)
        with self.cond:
            self.exited = exit_info
            self._break("exited")
            self.cond.notify_all()

    def _on_output(self, message: str) -> None:
        with self.cond:
            attempt = self.current
            if attempt is None:
                self.pending_log.add(now_ms(), message)  # bounded like an invocation's own output
                return
            attempt.last_output_at = time.monotonic()
            stamp = now_ms()
            if attempt.log.add(stamp, message):
                self.sink(self.spec, self.log_stream_name, attempt.request_id, stamp, message)

    def _on_end(self, request_id: str) -> None:
        with self.cond:
            if self.current is not None and self.current.request_id == request_id:
                self.current.end_seen = True
                self.cond.notify_all()

    def _line(self, attempt: Attempt, message: str) -> None:
        """A line of the platform's own (START, END, REPORT, errors): always kept."""
        stamp = now_ms()
        attempt.log.add_platform(stamp, message)
        self.sink(self.spec, self.log_stream_name, attempt.request_id, stamp, message)

    # The worker thread -------------------------------------------------------------------

    def invoke(self, request_id: str, payload: bytes, invoked_arn: str) -> Outcome:
        """Run one invocation here and wait for its end, however it ends."""
        attempt = Attempt(request_id, payload, invoked_arn, float(self.spec.timeout))
        cold = self.ready_at is None
        self.sandbox.reset_peak_memory()
        with self.cond:
            # One invocation at a time, on a started environment. A broken or stopped one takes
            # it and ends it at once (as _finished sees), as it did when it was handed out.
            if self.current is not None or self.state not in (State.BROKEN, State.STOPPED):
                self._move(State.BUSY)
            self.invocations += 1
            self.current = attempt
            # Output since the last invocation (init output for the first) belongs to this one,
            # and counts against its bound.
            attempt.log, self.pending_log = self.pending_log, logs.LogBuffer(self.max_log_bytes)
            for stamp, message in attempt.log.lines:
                self.sink(self.spec, self.log_stream_name, request_id, stamp, message)
            self.inbox = attempt
            waiter, self.parked = self.parked, None
            delivery = self._take_inbox() if waiter is not None else None
        if waiter is not None:
            waiter.deliver(delivery)  # outside the lock: a large event may take a moment
        with self.cond:
            timed_out = self._wait(attempt)
            init_ms = (self.ready_at - self.created_at) * 1000 if cold and self.ready_at else None
            if init_ms is None and cold:
                init_ms = (time.monotonic() - self.created_at) * 1000
            outcome = self._outcome(attempt, timed_out, init_ms)
            notice = attempt.log.drop_notice()
            if notice:
                self._line(attempt, notice)
            self._line(attempt, logs.end_line(request_id))
            self._line(attempt, logs.report_line(request_id, outcome.duration_ms, outcome.billed_ms,
                                                 self.spec.memory_size, outcome.max_memory_mb, init_ms))
            self.current = None
            self.inbox = None
            if self.state is State.BUSY:
                self._move(State.IDLE)
        if not self.alive:
            self.stop()
        self.last_used = time.monotonic()
        return outcome

    def _finished(self, attempt: Attempt) -> bool:
        if self.violation is not None and attempt.answered_at is not None:
            return True  # the environment is being stopped: no end marker will come
        if self.init_failure is not None and attempt.answered_at is None:
            return self.exited is not None  # keep the runtime's last words
        if attempt.answered_at is not None:
            if self.marked:
                return attempt.end_seen or self.exited is not None
            quiet_since = max(attempt.answered_at, attempt.last_output_at)
            return time.monotonic() - quiet_since >= QUIET_WAIT or self.exited is not None
        return self.exited is not None or self.state is State.STOPPED

    def _wait(self, attempt: Attempt) -> bool:
        """Wait under self.cond; True when the invocation ran out of time."""
        begun = time.monotonic()
        undelivered_limit = self.created_at + INIT_TIMEOUT if self.ready_at is None else begun + attempt.timeout
        while not self._finished(attempt):
            now = time.monotonic()
            step = None
            if attempt.answered_at is not None:
                limit = attempt.answered_at + 1.0  # late output is waited for, within bounds
                step = None if self.marked else QUIET_WAIT
            elif self.init_failed_at is not None:
                limit = self.init_failed_at + 0.5  # the runtime reported; let it exit and flush
            elif attempt.delivered_at is not None:
                limit = attempt.delivered_at + attempt.timeout
            else:
                limit = undelivered_limit
            if now >= limit:
                if attempt.answered_at is not None or self.init_failed_at is not None:
                    return False
                self._break("timed out")
                return True
            self.cond.wait(limit - now if step is None else min(step, limit - now))
        return False

    def _outcome(self, attempt: Attempt, timed_out: bool, init_ms: float | None) -> Outcome:
        rid = attempt.request_id
        end = attempt.answered_at or time.monotonic()
        duration = (end - attempt.delivered_at) * 1000 if attempt.delivered_at else 0.0
        if timed_out:
            if attempt.delivered_at is None:  # never got past init
                duration = (time.monotonic() - self.created_at) * 1000
            self._line(attempt, logs.timeout_line(rid, attempt.timeout))
            ok, error_type = False, "Sandbox.Timedout"
            body = {"errorType": error_type,
                    "errorMessage": f"RequestId: {rid} Error: Task timed out after {attempt.timeout:.2f} seconds"}
            payload = json.dumps(body).encode()
        elif attempt.answered_at is not None:
            payload = attempt.answer or b""
            ok = attempt.error_type is None
            error_type = "" if ok else (attempt.error_type or error_type_of(payload) or "Unhandled")
        elif self.init_failure is not None:
            payload, header_type = self.init_failure
            ok = False
            error_type = error_type_of(payload) or header_type or "Runtime.Unknown"
        else:
            exit_info = self.exited or Exit(-1, False)
            if self.interrupted:
                reason = "the worker running it is stopping"
            elif exit_info.status < 0:  # the container vanished (removed, or its engine restarted)
                reason = "the execution environment's container is gone"
            else:
                reason = exit_info.describe()
            message = f"RequestId: {rid} Error: Runtime exited with error: {reason}"
            ok, error_type = False, "Runtime.ExitError"
            payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
            self._line(attempt, message)
            self._line(attempt, error_type)
        memory = self.sandbox.peak_memory_bytes()
        return Outcome(
            request_id=rid, ok=ok, payload=payload, error_type=error_type, duration_ms=duration,
            init_duration_ms=init_ms, max_memory_mb=(memory + 1048575) // 1048576 if memory else None,
            lines=attempt.log.lines, log_stream_name=self.log_stream_name,
            interrupted=self.interrupted and attempt.answered_at is None and not timed_out,
        )


def _too_large_message() -> str:
    return f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."


def _max_log_bytes() -> int:
    from django.conf import settings

    return getattr(settings, "LAMBDA_MAX_LOG_BYTES_PER_INVOCATION", logs.DEFAULT_MAX_LOG_BYTES)
