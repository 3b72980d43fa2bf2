"""Settings of the worker itself: the idle timeout and the host-wide concurrency limit."""
from __future__ import annotations

import threading
import time

import pytest

from console.errors import TooManyRequests
from executor import containers
from executor.invoke import invoke

from .conftest import eventually, python_function

pytestmark = pytest.mark.integration


def function_containers(fn) -> list[dict]:
    return [c for c in containers.client().api.containers(filters={"label": f"lambda.function={fn.arn}"})]


def test_idle_environments_are_stopped_after_the_idle_timeout(worker, alice_account):
    worker.restart(LAMBDA_IDLE_TIMEOUT="2", LAMBDA_WORKER_HEARTBEAT="3")
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    invoke(fn, "{}")
    assert len(function_containers(fn)) == 1
    eventually(lambda: None if function_containers(fn) else True, timeout=15)
    assert invoke(fn, "{}").init_duration_ms is not None  # a cold start again


def test_the_account_limit_caps_the_host(worker, alice_account):
    worker.restart(LAMBDA_ACCOUNT_CONCURRENCY="1")
    slow = python_function(alice_account, "import time\ndef lambda_handler(e, c):\n    time.sleep(2)\n    return 1\n")
    other = python_function(alice_account, "def lambda_handler(e, c):\n    return 2\n")
    first = threading.Thread(target=invoke, args=(slow, "{}"))
    first.start()
    time.sleep(0.8)  # the slow one holds the only slot
    with pytest.raises(TooManyRequests) as caught:
        invoke(other, "{}")
    assert caught.value.extra["Reason"] == "ConcurrentInvocationLimitExceeded"
    first.join()
    assert invoke(other, "{}").payload == b"2"


def test_a_worker_that_stops_removes_its_containers(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    invoke(fn, "{}")
    assert len(function_containers(fn)) == 1
    worker.stop()  # SIGTERM: Celery's warm shutdown
    assert function_containers(fn) == []
    worker.start()


def test_a_configuration_change_stops_idle_environments_without_waiting_for_an_invocation(worker, alice_account):
    from console.services.functions import function_update_configuration

    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    invoke(fn, "{}")
    assert len(function_containers(fn)) == 1
    function_update_configuration(fn, timeout=5)
    eventually(lambda: None if function_containers(fn) else True, timeout=15)
