"""An execution environment's logic without Docker: a fake sandbox stands in for the container,
and the test plays the runtime through the entry points the Runtime API server calls
(next_invocation, complete, init_error, runtime_api_violation)."""
from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import pytest

from executor import environment
from executor.attempt import Delivery, Outcome
from executor.containers import Exit
from executor.environment import Environment, EnvironmentFailed, EnvironmentGone
from executor.lifecycle import IllegalTransition, State, check
from executor.runtime_api import Registry
from executor.sandbox import SandboxFailed
from executor.spec import EnvSpec

MB = 1024 * 1024
SPEC = EnvSpec(function_id=1, account_id="111111111111", function_name="f",
               function_arn="arn:aws:lambda:us-east-1:111111111111:function:f", version="$LATEST",
               package_type="Zip", runtime="python3.11", handler="app.handler", image="img", code_dir="/code",
               memory_size=128, timeout=1, ephemeral_storage=512, region="us-east-1", revision="r1")
SHORT = 0.3  # seconds: the time limits these tests wait out


class FakeSandbox:
    """A container whose output, end and memory the test decides."""

    def __init__(self, spec: EnvSpec, env_id: str, log_stream_name: str, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.chunks: queue.Queue[bytes | None] = queue.Queue()
        self.exit = Exit(-1, False)
        self.peak: int | None = 42 * MB
        self.resets = 0
        self.removals: list[bool] = []
        self.refuse: str | None = None

    def start(self) -> None:
        if self.refuse:
            raise SandboxFailed(self.refuse)

    def address(self) -> str:
        return "10.0.0.2"

    def output(self):
        while (chunk := self.chunks.get()) is not None:
            yield chunk

    def wait_exit(self) -> Exit:
        return self.exit

    def reset_peak_memory(self) -> None:
        self.resets += 1

    def peak_memory_bytes(self) -> int | None:
        return self.peak

    def remove(self, wait: bool) -> None:
        self.removals.append(wait)
        self.chunks.put(None)  # a removed container's output stream ends

    # What the function and the kernel do:
    def write(self, text: str) -> None:
        self.chunks.put(text.encode())

    def exit_with(self, status: int, oom_killed: bool = False) -> None:
        self.exit = Exit(status, oom_killed)
        self.chunks.put(None)


class FakeRuntime:
    """The runtime's side of the Runtime API, calling the environment as runtime_api.Handler does."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.events: queue.Queue[Delivery] = queue.Queue()

    def deliver(self, delivery: Delivery) -> None:  # the invoking thread answers a parked GET /next
        self.events.put(delivery)

    def next(self) -> None:
        delivery = self.env.next_invocation(self)
        if delivery is not None:
            self.events.put(delivery)

    def event(self) -> Delivery:
        return self.events.get(timeout=5)

    def respond(self, delivery: Delivery, body: bytes, error_type: str | None = None, marker: bool = True) -> bool:
        request_id = delivery.headers["Lambda-Runtime-Aws-Request-Id"]
        accepted = self.env.complete(request_id, body, error_type)
        if marker:  # our bootstraps' end marker, written after the answer
            self.env.sandbox.write(f"\x1e\x1eLAMBDA-END {request_id}\x1e\x1e\n")
        return accepted


@pytest.fixture
def make_env(monkeypatch):
    monkeypatch.setattr(environment, "INIT_TIMEOUT", SHORT)
    made: list[Environment] = []

    def make(**changes) -> Environment:
        env = Environment(replace(SPEC, **changes), Registry(), lambda *line: None, FakeSandbox)
        env.lines = []  # every line handed to the sink: (request id, message)
        env.sink = lambda spec, stream, rid, stamp, message: env.lines.append((rid, message))
        made.append(env)
        return env

    yield make
    for env in made:
        env.stop()


@pytest.fixture
def background():
    """Threads for invoke(), which blocks; make_env's teardown stops what is left running."""
    pool = ThreadPoolExecutor(max_workers=4)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def invoke(pool: ThreadPoolExecutor, env: Environment, payload: bytes = b'{"k": 1}') -> tuple[str, Future]:
    request_id = str(uuid.uuid4())
    return request_id, pool.submit(env.invoke, request_id, payload, SPEC.function_arn)


def started(env: Environment) -> tuple[Environment, FakeRuntime]:
    env.start()
    return env, FakeRuntime(env)


def error_of(outcome: Outcome) -> dict:
    return json.loads(outcome.payload)


def messages(outcome: Outcome) -> list[str]:
    return [message for _stamp, message in outcome.lines]


# --- A normal life --------------------------------------------------------------------------

def test_a_cold_then_a_warm_invocation_answer_with_the_runtimes_payload_and_aws_lines(make_env, background):
    env, runtime = started(make_env())
    env.sandbox.write("init output\n")
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    assert event.payload == b'{"k": 1}' and event.headers["Lambda-Runtime-Aws-Request-Id"] == rid
    assert event.headers["Lambda-Runtime-Invoked-Function-Arn"] == SPEC.function_arn
    env.sandbox.write("hello from the handler\n")
    time.sleep(0.05)  # the log reader takes the line before the end marker comes
    assert runtime.respond(event, b'"ok"')
    cold = result.result(timeout=5)
    assert (cold.ok, cold.payload, cold.error_type) == (True, b'"ok"', "")
    assert cold.init_duration_ms is not None and cold.max_memory_mb == 42
    lines = messages(cold)
    assert lines[:3] == ["init output", f"START RequestId: {rid} Version: $LATEST", "hello from the handler"]
    assert lines[3] == f"END RequestId: {rid}"
    assert lines[4].startswith(f"REPORT RequestId: {rid}\t") and "Max Memory Used: 42 MB\tInit Duration: " in lines[4]
    assert env.alive and env.state is State.IDLE

    runtime.next()  # parked: the next invocation is handed to it directly
    rid2, result = invoke(background, env)
    assert runtime.respond(runtime.event(), b'"again"')
    warm = result.result(timeout=5)
    assert warm.ok and warm.payload == b'"again"' and warm.init_duration_ms is None
    assert "Init Duration" not in messages(warm)[-1]
    assert env.sandbox.resets == 2  # peak memory is counted per invocation
    assert env.invocations == 2 and env.sandbox.removals == []


def test_a_runtime_without_an_end_marker_ends_after_a_quiet_moment(make_env, background):
    env, runtime = started(make_env(runtime="provided.al2023"))
    rid, result = invoke(background, env)
    runtime.next()
    assert runtime.respond(runtime.event(), b"plain", marker=False)
    outcome = result.result(timeout=5)
    assert outcome.ok and outcome.payload == b"plain"


def test_an_error_answer_is_a_function_error_with_the_runtimes_type(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    body = json.dumps({"errorType": "ValueError", "errorMessage": "bad"}).encode()
    runtime.respond(runtime.event(), body, error_type="Unhandled")
    outcome = result.result(timeout=5)
    assert (outcome.ok, outcome.error_type, outcome.function_error) == (False, "Unhandled", "Unhandled")
    assert outcome.payload == body
    assert env.alive  # a handled error leaves the environment warm, as on AWS


# --- Time limits ----------------------------------------------------------------------------

def test_an_init_that_never_asks_for_its_event_times_out_after_the_init_limit(make_env, background):
    env, runtime = started(make_env(timeout=30))
    begun = time.monotonic()
    rid, result = invoke(background, env)
    outcome = result.result(timeout=5)
    assert time.monotonic() - begun < 5  # the init's limit, not the function's 30 s
    assert outcome.error_type == "Sandbox.Timedout"
    assert error_of(outcome)["errorMessage"] == f"RequestId: {rid} Error: Task timed out after 30.00 seconds"
    assert outcome.duration_ms >= SHORT * 1000 and outcome.init_duration_ms is not None
    assert env.state is State.STOPPED and env.broken_by == "timed out"
    assert env.sandbox.removals == [False]
    with pytest.raises(EnvironmentGone):
        runtime.next()


def test_an_invocation_that_does_not_answer_times_out_and_its_environment_is_removed(make_env, background):
    env, runtime = started(make_env(timeout=SHORT))
    rid, result = invoke(background, env)
    runtime.next()
    runtime.event()
    outcome = result.result(timeout=5)
    assert outcome.error_type == "Sandbox.Timedout" and not outcome.ok
    assert error_of(outcome) == {"errorType": "Sandbox.Timedout",
                                 "errorMessage": f"RequestId: {rid} Error: Task timed out after 0.30 seconds"}
    assert SHORT * 1000 <= outcome.duration_ms < SHORT * 1000 + 500
    assert any(line.endswith(f"{rid} Task timed out after 0.30 seconds") for line in messages(outcome))
    assert not env.alive and env.sandbox.removals == [False]


def test_an_answer_after_the_timeout_is_refused_and_changes_nothing(make_env, background):
    env, runtime = started(make_env(timeout=SHORT))
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    outcome = result.result(timeout=5)
    assert outcome.error_type == "Sandbox.Timedout"
    assert runtime.respond(event, b'"too late"') is False  # the Runtime API answers it 403
    assert outcome.payload != b'"too late"' and env.state is State.STOPPED


def test_an_answer_to_another_invocation_is_refused(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    assert env.complete(str(uuid.uuid4()), b'"hijack"', None) is False
    runtime.respond(event, b'"mine"')
    assert result.result(timeout=5).payload == b'"mine"'


def test_an_invocation_is_answered_once(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    assert runtime.respond(event, b'"first"', marker=False)
    assert runtime.respond(event, b'"second"') is False  # before its end marker: still in progress
    assert result.result(timeout=5).payload == b'"first"'


def test_output_between_the_answer_and_the_end_marker_is_the_invocations(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    runtime.respond(event, b'"ok"', marker=False)
    time.sleep(0.05)
    env.sandbox.write("flushed late\n")
    env.sandbox.write(f"\x1e\x1eLAMBDA-END {rid}\x1e\x1e\n")
    lines = messages(result.result(timeout=5))
    assert lines[-3:-1] == ["flushed late", f"END RequestId: {rid}"]


# --- Crashes and init errors ----------------------------------------------------------------

@pytest.mark.parametrize("status, oom, reason", [
    (139, False, "signal: segmentation fault"),
    (137, True, "signal: killed"),
    (3, False, "exit status 3"),
])
def test_a_runtime_that_exits_during_an_invocation_ends_it_with_exit_error(make_env, background, status, oom,
                                                                           reason):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    runtime.event()
    env.sandbox.write("about to crash\n")
    env.sandbox.exit_with(status, oom)
    outcome = result.result(timeout=5)
    message = f"RequestId: {rid} Error: Runtime exited with error: {reason}"
    assert error_of(outcome) == {"errorType": "Runtime.ExitError", "errorMessage": message}
    assert messages(outcome)[1:4] == ["about to crash", message, "Runtime.ExitError"]
    assert env.exited == Exit(status, oom) and env.broken_by == "exited"
    assert env.state is State.STOPPED and env.sandbox.removals == [False]


def test_an_init_error_answers_the_runtimes_error_and_the_environment_is_not_reused(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    body = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'app'"}).encode()
    env.sandbox.write("[ERROR] Runtime.ImportModuleError\n")
    env.init_error(body, "Runtime.ImportModuleError")
    assert env.state is State.BROKEN and not env.alive
    env.sandbox.exit_with(1)
    outcome = result.result(timeout=5)
    assert (outcome.ok, outcome.payload, outcome.error_type) == (False, body, "Runtime.ImportModuleError")
    assert "[ERROR] Runtime.ImportModuleError" in messages(outcome)  # its last words are kept
    assert env.state is State.STOPPED and env.sandbox.removals == [False]


def test_an_init_error_without_an_exit_ends_the_invocation_soon_after(make_env, background, monkeypatch):
    monkeypatch.setattr(environment, "INIT_TIMEOUT", 10.0)
    env, runtime = started(make_env(timeout=30))
    rid, result = invoke(background, env)
    env.init_error(b'{"errorMessage": "boom"}', "Runtime.Unknown")
    outcome = result.result(timeout=3)  # half a second for the runtime to exit, not the 10 s of the init
    assert outcome.error_type == "Runtime.Unknown" and outcome.payload == b'{"errorMessage": "boom"}'


def test_a_sandbox_that_cannot_start_is_an_environment_failure(make_env):
    env = make_env()
    env.sandbox.refuse = "Image not found on this Docker host: img"
    with pytest.raises(EnvironmentFailed, match="Image not found"):
        env.start()
    assert env.state is State.STARTING
    env.stop()
    assert env.state is State.STOPPED


# --- Stops from outside ---------------------------------------------------------------------

def test_a_runtime_api_violation_ends_the_invocation_and_stops_the_environment(make_env, background):
    env, runtime = started(make_env(timeout=30))
    rid, result = invoke(background, env)
    runtime.next()
    runtime.event()
    env.runtime_api_violation("Runtime.ExitError", "more than 16 connections")
    outcome = result.result(timeout=5)
    assert error_of(outcome) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: Runtime API request refused: "
                        "more than 16 connections"}
    assert env.state is State.STOPPED and env.broken_by == "runtime API violation"
    with pytest.raises(EnvironmentGone):
        runtime.next()


def test_a_runtime_api_violation_between_invocations_removes_the_environment_at_once(make_env):
    env, runtime = started(make_env())
    runtime.next()
    env.runtime_api_violation("Runtime.ExitError", "headers over 65536 bytes")
    assert env.state is State.STOPPED and env.sandbox.removals == [False]


def test_a_retired_environment_finishes_its_invocation_then_stops(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    runtime.next()
    event = runtime.event()
    env.retire()  # its function changed meanwhile
    runtime.respond(event, b'"done"')
    outcome = result.result(timeout=5)
    assert outcome.ok and outcome.payload == b'"done"'
    assert env.state is State.STOPPED and env.sandbox.removals == [False]


def test_the_workers_stop_interrupts_an_invocation_to_be_run_again(make_env, background):
    env, runtime = started(make_env(timeout=30))
    rid, result = invoke(background, env)
    runtime.next()
    runtime.event()
    env.interrupt(wait=True)
    outcome = result.result(timeout=5)
    assert outcome.interrupted
    assert error_of(outcome)["errorMessage"].endswith("Runtime exited with error: the worker running it is stopping")
    assert env.sandbox.removals == [True]


def test_a_container_removed_under_an_invocation_says_it_is_gone(make_env, background):
    env, runtime = started(make_env(timeout=30))
    rid, result = invoke(background, env)
    runtime.next()
    runtime.event()
    env.sandbox.chunks.put(None)  # the engine lost it: the stream ends, its exit cannot be read
    outcome = result.result(timeout=5)
    assert error_of(outcome)["errorMessage"].endswith("the execution environment's container is gone")
    assert not outcome.interrupted


# --- Memory ---------------------------------------------------------------------------------

def test_an_unmeasured_peak_memory_is_left_out_of_report_as_it_is_of_the_record(make_env, background):
    env, runtime = started(make_env())
    env.sandbox.peak = None  # no cgroup found
    rid, result = invoke(background, env)
    runtime.next()
    runtime.respond(runtime.event(), b"1")
    outcome = result.result(timeout=5)
    assert outcome.max_memory_mb is None
    report = messages(outcome)[-1]
    assert report.startswith("REPORT") and "Max Memory Used" not in report


def test_peak_memory_is_rounded_up_to_whole_megabytes(make_env, background):
    env, runtime = started(make_env())
    env.sandbox.peak = 42 * MB + 1
    rid, result = invoke(background, env)
    runtime.next()
    runtime.respond(runtime.event(), b"1")
    assert result.result(timeout=5).max_memory_mb == 43


# --- The state machine ----------------------------------------------------------------------

def test_states_follow_an_environments_life(make_env, background):
    env = make_env()
    assert env.state is State.STARTING and not env.alive
    env, runtime = started(env)
    assert env.state is State.INITIALIZING and env.alive
    runtime.next()
    assert env.state is State.IDLE
    rid, result = invoke(background, env)
    event = runtime.event()
    assert env.state is State.BUSY
    runtime.respond(event, b"1")
    result.result(timeout=5)
    assert env.state is State.IDLE
    env.stop()
    assert env.state is State.STOPPED and not env.alive


def test_a_cold_invocation_makes_an_initializing_environment_busy(make_env, background):
    env, runtime = started(make_env())
    rid, result = invoke(background, env)
    deadline = time.monotonic() + 5
    while env.state is not State.BUSY and time.monotonic() < deadline:
        time.sleep(0.01)
    assert env.state is State.BUSY and env.ready_at is None
    runtime.next()  # the init is over: the waiting event goes out at once
    runtime.respond(runtime.event(), b"1")
    assert result.result(timeout=5).init_duration_ms is not None
    assert env.state is State.IDLE


def test_a_second_invocation_at_once_is_refused_and_logged(make_env, background, caplog):
    env, runtime = started(make_env())
    rid, first = invoke(background, env)
    runtime.next()
    event = runtime.event()
    with caplog.at_level(logging.ERROR, logger="executor.lifecycle"):
        with pytest.raises(IllegalTransition):
            env.invoke(str(uuid.uuid4()), b"{}", SPEC.function_arn)
    assert "illegal transition busy -> busy" in caplog.text
    env.retire()
    with pytest.raises(IllegalTransition):  # nor on a broken one still running its invocation
        env.invoke(str(uuid.uuid4()), b"{}", SPEC.function_arn)
    runtime.respond(event, b'"first"')
    assert first.result(timeout=5).payload == b'"first"'  # the one in progress is untouched


def test_an_environment_not_started_refuses_an_invocation(make_env):
    env = make_env()
    with pytest.raises(IllegalTransition):
        env.invoke(str(uuid.uuid4()), b"{}", SPEC.function_arn)


def test_a_stopped_environment_never_runs_an_invocation_again(make_env, background):
    env, runtime = started(make_env())
    runtime.next()
    env.interrupt()
    outcome = env.invoke(str(uuid.uuid4()), b"{}", SPEC.function_arn)  # handed out as the worker stopped
    assert outcome.interrupted and outcome.error_type == "Runtime.ExitError"
    assert env.state is State.STOPPED


@pytest.mark.parametrize("current, new", [
    (State.STOPPED, State.IDLE), (State.STOPPED, State.BROKEN), (State.BROKEN, State.IDLE),
    (State.BROKEN, State.BUSY), (State.STARTING, State.BUSY), (State.IDLE, State.INITIALIZING),
    (State.BUSY, State.BUSY),
])
def test_illegal_transitions_raise(current, new):
    with pytest.raises(IllegalTransition):
        check("test", current, new)


def test_every_state_but_stopped_may_stop():
    for state in State:
        if state is not State.STOPPED:
            check("test", state, State.STOPPED)
