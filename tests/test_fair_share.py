"""Fair share of one host between accounts: concurrency per account, and a memory budget.

Concurrency follows AWS's "Configuring reserved concurrency for a function" and "Lambda
quotas" pages (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html):
each account has its own limit, a reserved function draws only on its reservation, the
others share the unreserved rest, and a minimum of it can never be reserved.
"""
from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from console.errors import TooManyRequests
from console.services.functions import function_set_concurrency
from executor import concurrency, containers, redis_client
from executor.invoke import invoke

from .conftest import eventually, python_function

pytestmark = pytest.mark.integration

SLOW = "import time\ndef lambda_handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return 1\n"


def running(account_id: str) -> int:
    """Invocations of the account's unreserved functions holding a slot now."""
    return redis_client.client().zcard(f"lambda:concurrency:acct:{account_id}")


def in_background(fn, payload: str) -> threading.Thread:
    thread = threading.Thread(target=invoke, args=(fn, payload))
    thread.start()
    return thread


def throttle_reason(fn) -> str:
    with pytest.raises(TooManyRequests) as caught:
        invoke(fn, "{}")
    return caught.value.extra["Reason"]


def test_an_account_at_its_limit_does_not_throttle_another_account(worker, alice_account, charlie_account):
    worker.restart(LAMBDA_ACCOUNT_CONCURRENCY="2")
    slow = python_function(alice_account, SLOW)
    alices_other = python_function(alice_account, SLOW)
    charlies = python_function(charlie_account, SLOW)
    busy = [in_background(slow, '{"sleep": 4}') for _ in range(2)]
    eventually(lambda: running(alice_account.account_id) == 2 or None)
    assert throttle_reason(alices_other) == "ConcurrentInvocationLimitExceeded"
    assert invoke(charlies, "{}").payload == b"1"  # charlie's own limit is untouched
    for thread in busy:
        thread.join()
    assert invoke(alices_other, "{}").payload == b"1"


def test_a_reserved_function_is_not_starved_by_the_unreserved_ones(worker, alice_account):
    worker.restart(LAMBDA_ACCOUNT_CONCURRENCY="2")
    critical = python_function(alice_account, SLOW)
    function_set_concurrency(critical, 1)  # leaves 1 of 2 for the others: the minimum
    greedy = python_function(alice_account, SLOW)
    busy = in_background(greedy, '{"sleep": 4}')
    eventually(lambda: running(alice_account.account_id) == 1 or None)
    assert throttle_reason(greedy) == "ConcurrentInvocationLimitExceeded"  # the unreserved pool is 1
    assert invoke(critical, "{}").payload == b"1"
    busy.join()


def test_account_settings_and_reservations_through_boto3(alice_lambda, charlie_account):
    from .api_helpers import create_hello

    client = alice_lambda
    limits = client.get_account_settings()["AccountLimit"]
    assert (limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]) == (50, 50)
    for name in ("fs-a", "fs-b"):
        create_hello(client, name)
    client.put_function_concurrency(FunctionName="fs-a", ReservedConcurrentExecutions=30)
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 20
    # Another account's reservations take nothing from alice's.
    other = python_function(charlie_account, SLOW)
    function_set_concurrency(other, 40)
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 20

    # A tenth of the limit (5 of 50) always stays unreserved: 16 more would leave 4.
    with pytest.raises(ClientError) as caught:
        client.put_function_concurrency(FunctionName="fs-b", ReservedConcurrentExecutions=16)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == ("Specified ReservedConcurrentExecutions for function decreases account's "
                                         "UnreservedConcurrentExecution below its minimum value of [5].")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="fs-b")
    with pytest.raises(ClientError):
        client.put_function_concurrency(FunctionName="fs-a", ReservedConcurrentExecutions=46)
    assert client.get_function_concurrency(FunctionName="fs-a")["ReservedConcurrentExecutions"] == 30
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 20

    client.put_function_concurrency(FunctionName="fs-b", ReservedConcurrentExecutions=15)  # exactly 5 left
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 5
    client.delete_function_concurrency(FunctionName="fs-a")
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 35


# --- The host's memory budget -----------------------------------------------------------------

def function_containers(fn) -> list[dict]:
    return containers.client().api.containers(filters={"label": f"lambda.function={fn.arn}"})


def test_a_cold_start_over_the_memory_budget_stops_the_oldest_idle_environment(worker, alice_account,
                                                                              charlie_account):
    worker.restart(LAMBDA_HOST_MEMORY_MB="512")
    first = python_function(alice_account, SLOW, memory_size=256)
    second = python_function(charlie_account, SLOW, memory_size=256)
    third = python_function(alice_account, SLOW, memory_size=256)
    invoke(first, "{}")
    invoke(second, "{}")
    assert len(function_containers(first)) == len(function_containers(second)) == 1  # both idle, warm
    result = invoke(third, "{}")
    assert result.payload == b"1" and result.init_duration_ms is not None
    try:
        eventually(lambda: function_containers(first) == [] or None)  # the oldest idle one made room
    except AssertionError:
        # Seen once in a full run: say which environments were left and what the worker logged.
        log = [line for line in worker.log_path.read_text().splitlines()[-200:] if "memory" in line]
        raise AssertionError(f"first's environment still running; containers: first "
                             f"{len(function_containers(first))}, second {len(function_containers(second))}, "
                             f"third {len(function_containers(third))}; worker log: {log}")
    assert len(function_containers(second)) == 1 and len(function_containers(third)) == 1


def test_a_start_over_the_budget_with_every_environment_busy_is_throttled(worker, alice_account):
    worker.restart(LAMBDA_HOST_MEMORY_MB="512")
    busy = [python_function(alice_account, SLOW, memory_size=256) for _ in range(2)]
    late = python_function(alice_account, SLOW, memory_size=256)
    threads = [in_background(fn, '{"sleep": 6}') for fn in busy]
    eventually(lambda: all(function_containers(fn) for fn in busy) or None, timeout=15)
    time.sleep(0.5)  # both inside their handlers
    began = time.monotonic()
    assert throttle_reason(late) == "ConcurrentInvocationLimitExceeded"
    assert time.monotonic() - began < 5  # a bounded wait, not the busy ones' whole run
    assert function_containers(late) == []
    for thread in threads:
        thread.join()
    assert invoke(late, "{}").payload == b"1"  # once they are idle, they make room


def test_the_configuration_tab_refuses_a_reservation_over_the_allowed_share(alice_client, alice_account):
    from django.urls import reverse

    fn = python_function(alice_account, SLOW, name="fs-console")
    response = alice_client.post(reverse("function-configuration-update", args=["fs-console", "concurrency"]),
                                 {"mode": "reserved", "reserved_concurrency": "46"})
    assert "below its minimum value of [5]" in response.content.decode()
    fn.refresh_from_db()
    assert fn.reserved_concurrency is None
