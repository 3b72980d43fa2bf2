"""The execution engine through its real path: Celery worker, Redis, Docker containers."""
from __future__ import annotations

import json
import os
import threading

import pytest

from console.errors import TooManyRequests
from console.models import Invocation, LogEvent
from console.services.functions import function_set_concurrency, function_update_configuration
from executor import containers
from executor.invoke import invoke

from .conftest import eventually, node_function, python_function

pytestmark = pytest.mark.integration


def body(result) -> object:
    return json.loads(result.payload)


def test_python_handler_returns_result_with_context(worker, alice_account):
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    return {
        "echo": event,
        "name": context.function_name,
        "version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "group": context.log_group_name,
        "stream": context.log_stream_name,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000,
    }
""")
    result = invoke(fn, json.dumps({"hello": "world"}))
    assert result.status_code == 200
    assert result.function_error is None
    out = body(result)
    assert out["echo"] == {"hello": "world"}
    assert out["name"] == fn.name
    assert out["version"] == "$LATEST"
    assert out["arn"] == fn.arn  # invoked without a qualifier: the unqualified ARN, as on AWS
    assert out["memory"] == 128
    assert out["request_id"] == result.request_id
    assert out["group"] == f"/aws/lambda/{fn.name}"
    assert "[$LATEST]" in out["stream"]
    assert out["remaining_ok"] is True


def test_the_invoked_arn_is_the_one_the_caller_used(worker, alice_account):
    """AWS's context object: invoked_function_arn is "the ARN that's used to invoke the function.
    Indicates if the invoker specified a version number or alias" (Lambda developer guide,
    python-context.html); the runtime gets it in Lambda-Runtime-Invoked-Function-Arn."""
    from console.services.versions import alias_create, version_publish

    fn = python_function(alice_account, """
def lambda_handler(event, context):
    return context.invoked_function_arn
""")
    version = version_publish(fn)
    alias_create(fn, "prod", str(version.number))
    assert body(invoke(fn, "{}")) == fn.arn
    assert body(invoke(fn, "{}", qualifier="$LATEST")) == f"{fn.arn}:$LATEST"
    by_version = invoke(fn, "{}", qualifier=str(version.number), log_type="Tail")
    assert body(by_version) == f"{fn.arn}:{version.number}", by_version.log_tail
    assert body(invoke(fn, "{}", qualifier="prod")) == f"{fn.arn}:prod"
    queued = invoke(fn, "{}", invocation_type="Event")
    done = eventually(lambda: Invocation.objects.get(request_id=queued.request_id, status=Invocation.Status.SUCCEEDED), timeout=30)
    assert json.loads(done.response) == fn.arn


def test_container_gets_the_environment_aws_sets(worker, alice_account):
    fn = python_function(alice_account, """
import os
def lambda_handler(event, context):
    return {k: os.environ.get(k) for k in event}
""", environment={"GREETING": "hi"}, memory_size=256)
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER", "LAMBDA_TASK_ROOT",
            "AWS_REGION", "AWS_EXECUTION_ENV", "TZ", "AWS_LAMBDA_RUNTIME_API", "GREETING"]
    out = body(invoke(fn, json.dumps(keys)))
    assert out["AWS_LAMBDA_FUNCTION_NAME"] == fn.name
    assert out["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert out["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert out["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fn.name}"
    assert out["AWS_LAMBDA_LOG_STREAM_NAME"].endswith("]" + out["AWS_LAMBDA_LOG_STREAM_NAME"].split("]")[1])
    assert out["_HANDLER"] == "lambda_function.lambda_handler"
    assert out["LAMBDA_TASK_ROOT"] == "/var/task"
    assert out["AWS_REGION"] == "us-east-1"
    assert out["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert out["TZ"] == ":UTC"
    assert out["AWS_LAMBDA_RUNTIME_API"]
    assert out["GREETING"] == "hi"


NODE_CJS_ASYNC = """
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  console.log("node says", event.n);
  return { n: event.n * 2, count, name: context.functionName, memory: context.memoryLimitInMB };
};
"""


def test_node_async_commonjs_handler_keeps_module_state(worker, alice_account):
    fn = node_function(alice_account, {"index.js": NODE_CJS_ASYNC})
    first = invoke(fn, '{"n": 21}')
    second = invoke(fn, '{"n": 1}')
    assert first.function_error is None, first.payload
    assert body(first)["n"] == 42 and body(first)["count"] == 1
    assert body(first)["name"] == fn.name and body(first)["memory"] == "128"
    assert body(second)["count"] == 2


def test_node_es_module_handler(worker, alice_account):
    fn = node_function(alice_account, {"index.mjs": "export const handler = async (e) => ({ esm: true, got: e.x });"})
    assert body(invoke(fn, '{"x": "y"}')) == {"esm": True, "got": "y"}


def test_node_callback_style_handler(worker, alice_account):
    fn = node_function(alice_account, {"app.js": "exports.run = (event, context, callback) => { "
                                                 "setTimeout(() => callback(null, {cb: event.v}), 5); };"},
                       handler="app.run")
    assert body(invoke(fn, '{"v": 7}')) == {"cb": 7}


def test_node_unhandled_error_has_aws_shape(worker, alice_account):
    fn = node_function(alice_account, {"index.js": "exports.handler = async () => { throw new TypeError('bad thing'); };"})
    result = invoke(fn, "{}")
    assert result.function_error == "Unhandled"
    out = body(result)
    assert out["errorType"] == "TypeError"
    assert out["errorMessage"] == "bad thing"
    assert isinstance(out["trace"], list) and out["trace"]


def test_provided_runtime_bootstrap_speaks_the_runtime_api(worker, alice_account):
    from console.codestore import make_zip
    from console.services.functions import function_create

    bootstrap = """#!/bin/sh
set -eu
while true; do
  HEADERS=$(mktemp)
  EVENT=$(curl -sS -D "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  echo "shell got $EVENT"
  curl -sS -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$ID/response" \\
       -d "{\\"from\\": \\"bootstrap\\", \\"handler\\": \\"$_HANDLER\\", \\"event\\": $EVENT}" > /dev/null
done
"""
    fn = function_create(alice_account, "custom-runtime", runtime="provided", handler="function.handler",
                         zip_file=make_zip({"bootstrap": bootstrap}, executable=("bootstrap",)))
    assert fn.runtime == "provided.al2023"
    result = invoke(fn, '{"k": 1}', log_type="Tail")
    assert body(result) == {"from": "bootstrap", "handler": "function.handler", "event": {"k": 1}}
    assert 'shell got {"k": 1}' in result.log_tail


def test_warm_start_keeps_module_state_and_reports_no_init_duration(worker, alice_account):
    fn = python_function(alice_account, """
import os
calls = 0
def lambda_handler(event, context):
    global calls
    calls += 1
    return {"calls": calls, "pid": os.getpid(), "stream": context.log_stream_name}
""")
    cold = invoke(fn, "{}", log_type="Tail")
    warm = invoke(fn, "{}", log_type="Tail")
    assert body(cold)["calls"] == 1 and body(warm)["calls"] == 2
    assert body(cold)["stream"] == body(warm)["stream"]
    assert cold.init_duration_ms is not None and cold.init_duration_ms > 0
    assert "Init Duration:" in cold.log_tail
    assert warm.init_duration_ms is None
    assert "Init Duration:" not in warm.log_tail


def test_two_concurrent_invocations_use_two_environments(worker, alice_account):
    fn = python_function(alice_account, """
import time
def lambda_handler(event, context):
    time.sleep(1.0)
    return context.log_stream_name
""")
    results = []
    threads = [threading.Thread(target=lambda: results.append(invoke(fn, "{}"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    streams = {body(r) for r in results}
    assert len(streams) == 2
    assert all(r.init_duration_ms is not None for r in results)


def test_reserved_concurrency_zero_throttles(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    function_set_concurrency(fn, 0)
    with pytest.raises(TooManyRequests) as caught:
        invoke(fn, "{}")
    assert caught.value.extra["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert Invocation.objects.get(function=fn).status == Invocation.Status.THROTTLED  # counted for Monitor


def test_reserved_concurrency_caps_parallel_invocations(worker, alice_account):
    fn = python_function(alice_account, "import time\ndef lambda_handler(e, c):\n    time.sleep(1.5)\n    return 1\n")
    function_set_concurrency(fn, 1)
    outcomes = []

    def call() -> None:
        try:
            outcomes.append(invoke(fn, "{}").status_code)
        except TooManyRequests as exc:
            outcomes.append(exc.extra["Reason"])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, outcomes)) == ["200", "ReservedFunctionConcurrentInvocationLimitExceeded"]
    eventually(lambda: Invocation.objects.get(function=fn, status=Invocation.Status.THROTTLED))


def test_timeout_kills_the_environment_with_aws_message(worker, alice_account):
    fn = python_function(alice_account, """
import time
def lambda_handler(event, context):
    if event.get("sleep"):
        time.sleep(10)
    return context.log_stream_name
""", timeout=1)
    first = body(invoke(fn, "{}"))
    result = invoke(fn, '{"sleep": true}', log_type="Tail")
    assert result.function_error == "Unhandled"
    out = body(result)
    assert out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    assert "Task timed out after 1.00 seconds" in result.log_tail
    after = invoke(fn, "{}")
    assert after.init_duration_ms is not None, "a timed-out environment must not be reused"
    assert body(after) != first
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id))
    assert row.status == Invocation.Status.FAILED and row.error_type == "Sandbox.Timedout"
    assert row.duration_ms >= 1000


def test_out_of_memory_answers_exit_error_signal_killed(worker, alice_account):
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    hog = bytearray(2 * 1024 * 1024 * 1024)  # 2 GB in a 128 MB function
    return len(hog)
""", timeout=30)
    result = invoke(fn, "{}")
    out = body(result)
    assert result.function_error == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert out["errorMessage"].endswith("Runtime exited with error: signal: killed")


def test_memory_pages_touched_beyond_the_limit_are_killed(worker, alice_account):
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    blocks = []
    for _ in range(2048):  # 2 GB, a megabyte at a time, each page really written
        blocks.append(b"x" * (1024 * 1024))
    return len(blocks)
""", timeout=60)
    out = body(invoke(fn, "{}"))
    assert out["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in out["errorMessage"]


def _kernel_at_least(major: int, minor: int) -> bool:
    release = os.uname().release.split("-")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


def test_max_memory_used_is_each_invocations_own_peak(worker, alice_account):
    if containers.client().info().get("CgroupVersion") == "2" and not _kernel_at_least(6, 12):
        pytest.skip("cgroup v2 before Linux 6.12 cannot reset memory.peak: the figure is the environment's peak")
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    if event.get("mb"):
        block = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(block), 4096):  # each page really written
            block[i] = 1
        del block  # and given back
    return "ok"
""", memory_size=512, timeout=30)
    big = invoke(fn, '{"mb": 200}')
    small = invoke(fn, "{}")
    assert big.function_error is None and small.function_error is None
    assert big.max_memory_used_mb >= 200
    assert small.init_duration_ms is None  # the same environment, warm
    assert small.max_memory_used_mb < big.max_memory_used_mb - 150


def test_crash_answers_exit_error_with_status(worker, alice_account):
    fn = python_function(alice_account, "import os\ndef lambda_handler(e, c):\n    print('bye')\n    os._exit(3)\n")
    result = invoke(fn, "{}", log_type="Tail")
    out = body(result)
    assert out["errorType"] == "Runtime.ExitError"
    assert out["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3"
    assert "bye" in result.log_tail


def test_import_error_answers_import_module_error(worker, alice_account):
    fn = python_function(alice_account, "import no_such_module\ndef lambda_handler(e, c):\n    return 1\n")
    out = body(invoke(fn, "{}"))
    assert out["errorType"] == "Runtime.ImportModuleError"
    assert out["errorMessage"] == "Unable to import module 'lambda_function': No module named 'no_such_module'"


def test_missing_handler_answers_handler_not_found(worker, alice_account):
    fn = python_function(alice_account, "def other(e, c):\n    return 1\n")
    out = body(invoke(fn, "{}"))
    assert out["errorType"] == "Runtime.HandlerNotFound"
    assert out["errorMessage"] == "Handler 'lambda_handler' missing on module 'lambda_function'"


def test_unhandled_exception_has_aws_shape_and_environment_survives(worker, alice_account):
    fn = python_function(alice_account, """
state = {"n": 0}
def lambda_handler(event, context):
    state["n"] += 1
    if event.get("fail"):
        raise ValueError("something broke")
    return state["n"]
""")
    result = invoke(fn, '{"fail": true}', log_type="Tail")
    out = body(result)
    assert result.function_error == "Unhandled"
    assert out["errorType"] == "ValueError"
    assert out["errorMessage"] == "something broke"
    assert out["requestId"] == result.request_id
    assert any("lambda_handler" in frame for frame in out["stackTrace"])
    assert "[ERROR] ValueError: something broke" in result.log_tail
    assert body(invoke(fn, "{}")) == 2  # same environment, module state intact


def test_container_is_locked_down(worker, alice_account):
    fn = python_function(alice_account, """
import os
def lambda_handler(event, context):
    def can_write(path):
        try:
            with open(path, "w") as f:
                f.write("x")
            return True
        except OSError:
            return False
    status = open("/proc/self/status").read()
    caps = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0]
    nnp = [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0]
    tmp = os.statvfs("/tmp")
    def memory_limit():
        for path in ("/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
                     "/sys/fs/cgroup/memory.max"):  # cgroup v2, the container's own namespace
            if os.path.exists(path):
                return int(open(path).read())
    return {
        "uid": os.getuid(),
        "root_writable": can_write("/etc/probe"),
        "task_writable": can_write("/var/task/probe"),
        "tmp_writable": can_write("/tmp/probe"),
        "tmp_mb": tmp.f_blocks * tmp.f_frsize // (1024 * 1024),
        "caps": caps,
        "no_new_privs": nnp,
        "docker_socket": os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"),
        "memory_limit": memory_limit(),
    }
""", ephemeral_storage=600)
    out = body(invoke(fn, "{}"))
    assert out["uid"] != 0
    assert out["root_writable"] is False
    assert out["task_writable"] is False
    assert out["tmp_writable"] is True
    assert out["tmp_mb"] == 600
    assert int(out["caps"], 16) == 0
    assert out["no_new_privs"] == "1"
    assert out["docker_socket"] is False
    assert out["memory_limit"] == 128 * 1024 * 1024


def test_fork_bomb_stays_inside_its_container(worker, alice_account):
    fn = python_function(alice_account, """
import os, time
def lambda_handler(event, context):
    children = 0
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children += 1
    except OSError as exc:
        return {"children": children, "error": exc.errno}
""", timeout=60, memory_size=1024)
    out = body(invoke(fn, "{}"))
    assert out["children"] < 1024
    assert out["error"] == 11  # EAGAIN: the pids limit said no
    # The host and the engine carry on: another function runs.
    other = python_function(alice_account, "def lambda_handler(e, c):\n    return 'fine'\n")
    assert body(invoke(other, "{}")) == "fine"


def test_configuration_change_retires_warm_environments(worker, alice_account):
    fn = python_function(alice_account, "import os\ndef lambda_handler(e, c):\n    return os.environ.get('V')\n",
                         environment={"V": "one"})
    assert body(invoke(fn, "{}")) == "one"
    assert invoke(fn, "{}").init_duration_ms is None
    function_update_configuration(fn, environment={"V": "two"})
    changed = invoke(fn, "{}")
    assert body(changed) == "two"
    assert changed.init_duration_ms is not None


def test_invocation_is_recorded_with_its_accounting_and_logs(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    print('line one')\n    print('line two')\n    return 'ok'\n")
    result = invoke(fn, '{"a": 1}', log_type="Tail", source="console")
    # Like CloudWatch, the record is written just after the caller has its answer.
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id))
    assert row.function == fn and row.version == "$LATEST" and row.source == "console"
    assert row.status == Invocation.Status.SUCCEEDED
    assert row.duration_ms == result.duration_ms and row.billed_duration_ms >= row.duration_ms
    assert row.init_duration_ms is not None and row.max_memory_used_mb > 0
    assert row.payload_size == len('{"a": 1}') and row.response_size == len('"ok"')
    eventually(lambda: LogEvent.objects.get(request_id=result.request_id, message__startswith="REPORT"))
    messages = list(LogEvent.objects.filter(request_id=result.request_id).values_list("message", flat=True))
    assert messages[-4:-2] == ["line one", "line two"]
    assert messages[-2] == f"END RequestId: {result.request_id}"
    assert messages[-1].startswith(f"REPORT RequestId: {result.request_id}\tDuration: ")
    assert f"START RequestId: {result.request_id} Version: $LATEST" in messages
    import base64
    assert base64.b64decode(result.log_result).decode() == result.log_tail


def test_log_tail_keeps_the_last_4_kb(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    for i in range(500):\n        print('line', i)\n")
    result = invoke(fn, "{}", log_type="Tail")
    tail = base64_decode(result.log_result)
    assert len(tail.encode()) <= 4096
    assert "line 499" in tail and "REPORT RequestId" in tail
    assert "line 0\n" not in tail


def base64_decode(text: str) -> str:
    import base64

    return base64.b64decode(text).decode()


def test_a_runtime_cannot_answer_an_invocation_that_is_not_its_own(worker, alice_account):
    fn = python_function(alice_account, """
import os, urllib.error, urllib.request, uuid
def lambda_handler(event, context):
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    url = f"http://{api}/2018-06-01/runtime/invocation/{uuid.uuid4()}/response"
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b'"hijack"', method="POST"), timeout=5)
        return "accepted"
    except urllib.error.HTTPError as exc:
        return exc.code
""")
    assert body(invoke(fn, "{}")) == 403
