"""Recursive loop detection: a chain through destinations back into one function stops at 16.

Follows docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html and the launch post
"Detecting and stopping recursive loops in AWS Lambda functions" (after 16 invocations by one
event the next is stopped and the event goes to the on-failure destination), and the API
reference pages GetFunctionRecursionConfig / PutFunctionRecursionConfig.
"""
from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import reverse

from console.models import Function, Invocation
from console.services.async_config import event_invoke_config_put
from console.services.recursion import function_set_recursive_loop
from executor import recursion
from executor.invoke import invoke

from .conftest import eventually, python_function
from .test_async_destinations import RECORDER, received_records

ECHO = "def lambda_handler(event, context):\n    return 'ok'\n"


def runs(fn: Function) -> int:
    return Invocation.objects.filter(function=fn, status=Invocation.Status.SUCCEEDED).count()


# --- The loop, for real ------------------------------------------------------------------

@pytest.mark.integration
def test_a_function_that_is_its_own_destination_stops_after_16_rounds(worker, alice_account):
    sink = python_function(alice_account, RECORDER, name="loop-sink")
    fn = python_function(alice_account, ECHO, name="self-loop")
    event_invoke_config_put(fn, on_success=fn.arn, on_failure=sink.arn)
    first = invoke(fn, '{"start": 1}', invocation_type="Event")

    record = eventually(lambda: received_records(sink) or None, timeout=90)[0]
    context = record["requestContext"]
    assert context["condition"] == recursion.CONDITION == "RecursiveInvocationException"
    assert context["functionArn"] == f"{fn.arn}:$LATEST"
    assert context["approximateInvokeCount"] == 0  # the stopped event never reached the function
    assert "responseContext" not in record
    # What was stopped is the 16th run's success record, on its way to the 17th.
    assert record["requestPayload"]["requestContext"]["condition"] == "Success"

    assert runs(fn) == recursion.MAX_CHAIN == 16
    depths = sorted(Invocation.objects.filter(function=fn, status=Invocation.Status.SUCCEEDED)
                    .values_list("chain_depth", flat=True))
    assert depths == list(range(16))
    stopped = Invocation.objects.get(function=fn, error_type=recursion.ERROR)
    assert stopped.status == Invocation.Status.FAILED and stopped.attempts == 0 and stopped.chain_depth == 16
    assert stopped.destination == sink.arn and not stopped.dead_lettered
    assert Invocation.objects.get(request_id=first.request_id).chain_depth == 0
    time.sleep(1)  # nothing runs on after the stop
    assert Invocation.objects.filter(function=fn).count() == 17


@pytest.mark.integration
def test_allow_lets_the_loop_run_past_16_and_terminate_stops_it_at_the_next_round(worker, alice_account):
    fn = python_function(alice_account, ECHO, name="allowed-loop")
    function_set_recursive_loop(fn, "Allow")
    event_invoke_config_put(fn, on_success=fn.arn)
    invoke(fn, "{}", invocation_type="Event")
    eventually(lambda: runs(fn) >= 18 or None, timeout=120)

    function_set_recursive_loop(fn, "Terminate")
    # No on-failure destination: kept, as a failed event (marked so once the stop is recorded).
    stopped = eventually(lambda: Invocation.objects.get(function=fn, error_type=recursion.ERROR, dead_lettered=True),
                         timeout=30)
    assert stopped.chain_depth >= 18 and stopped.attempts == 0
    count = runs(fn)
    time.sleep(1)
    assert runs(fn) == count


@pytest.mark.integration
def test_a_failure_destination_that_is_the_looping_function_itself_does_not_loop_again(worker, alice_account):
    fn = python_function(alice_account, ECHO, name="loop-to-itself")
    event_invoke_config_put(fn, on_success=fn.arn, on_failure=fn.arn)
    invoke(fn, "{}", invocation_type="Event")
    kept = eventually(lambda: Invocation.objects.get(function=fn, error_type=recursion.ERROR, dead_lettered=True),
                      timeout=90)
    assert kept.chain_depth == 17  # the stopped 17th's record, refused once more and kept
    time.sleep(1)
    assert Invocation.objects.filter(function=fn, error_type=recursion.ERROR).count() == 2
    assert runs(fn) == 16


# --- Counting per function (AWS's Lineage keeps a count per function) ----------------------

def _record_row(fn: Function, parent: Invocation, depth: int) -> Invocation:
    payload = json.dumps({"version": "1.0", "requestContext": {"requestId": str(parent.request_id)}})
    return Invocation.objects.create(function=fn, source="destination", payload=payload, chain_depth=depth)


def test_a_chain_through_another_function_counts_each_functions_own_appearances(alice_account):
    a = python_function(alice_account, ECHO, name="a")
    b = python_function(alice_account, ECHO, name="b")
    c = python_function(alice_account, ECHO, name="c")
    a0 = Invocation.objects.create(function=a, source="api", payload="{}")
    assert recursion.chain_depth(b, a0) == 0
    b0 = _record_row(b, a0, 0)
    assert recursion.chain_depth(a, b0) == 1  # A -> B -> A: A's second appearance
    a1 = _record_row(a, b0, 1)
    assert recursion.chain_depth(b, a1) == 1
    assert recursion.chain_depth(c, a1) == 0  # C never ran in this chain
    assert recursion.chain_depth(a, a1) == 2  # straight back into A


def test_an_event_from_outside_starts_a_chain(alice_account):
    fn = python_function(alice_account, ECHO)
    assert recursion.chain_depth(fn, None) == 0
    # A hand-made payload that looks like a record is not followed unless the row came from a destination.
    outsider = Invocation.objects.create(function=fn, source="api", payload='{"requestContext": {"requestId": "x"}}')
    assert recursion.parent_of(outsider) is None


# --- The API: GetFunctionRecursionConfig / PutFunctionRecursionConfig ----------------------

@pytest.mark.integration
def test_recursion_config_through_boto3(alice_lambda, charlie_lambda, alice_account):
    fn = python_function(alice_account, ECHO, name="api-loop")
    assert alice_lambda.get_function_recursion_config(FunctionName="api-loop")["RecursiveLoop"] == "Terminate"
    answer = alice_lambda.put_function_recursion_config(FunctionName="api-loop", RecursiveLoop="Allow")
    assert answer["RecursiveLoop"] == "Allow"
    assert alice_lambda.get_function_recursion_config(FunctionName=fn.arn)["RecursiveLoop"] == "Allow"

    with pytest.raises(ClientError) as bad:
        alice_lambda.put_function_recursion_config(FunctionName="api-loop", RecursiveLoop="Sometimes")
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "enum value set: [Allow, Terminate]" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as qualified:
        alice_lambda.get_function_recursion_config(FunctionName="api-loop:1")
    assert qualified.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing:
        alice_lambda.get_function_recursion_config(FunctionName="no-such-function")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

    # By name, charlie's own account has no such function; by ARN, alice's is refused to him.
    for ref, code in (("api-loop", "ResourceNotFoundException"), (fn.arn, "AccessDeniedException")):
        for call in (lambda: charlie_lambda.get_function_recursion_config(FunctionName=ref),
                     lambda: charlie_lambda.put_function_recursion_config(FunctionName=ref, RecursiveLoop="Terminate")):
            with pytest.raises(ClientError) as foreign:
                call()
            assert foreign.value.response["Error"]["Code"] == code
    fn.refresh_from_db()
    assert fn.recursive_loop == "Allow"  # neither the bad value nor charlie changed it


# --- The console's Configuration tab ------------------------------------------------------

@pytest.fixture
def fn(alice_account):
    return python_function(alice_account, ECHO, name="hello")


def _url(section: str = "") -> str:
    if section:
        return reverse("function-configuration-update", args=["hello", section])
    return reverse("function-configuration", args=["hello"]) + "?section=recursion"


def test_configuration_tab_shows_and_changes_the_recursion_setting(alice_client, fn):
    page = alice_client.get(_url()).content.decode()
    assert "Recursive loop detection" in page and 'id="recursive-loop">Terminate<' in page
    response = alice_client.post(_url("recursion"), {"recursive_loop": "Allow"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("?section=recursion")
    assert 'id="recursive-loop">Allow<' in response.content.decode()
    fn.refresh_from_db()
    assert fn.recursive_loop == "Allow"


def test_a_bad_recursion_value_is_refused_and_changes_nothing(alice_client, fn):
    response = alice_client.post(_url("recursion"), {"recursive_loop": "Sometimes"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    fn.refresh_from_db()
    assert fn.recursive_loop == "Terminate"


def test_an_outsider_gets_404_for_the_recursion_setting(charlie_client, fn):
    assert charlie_client.get(_url()).status_code == 404
    assert charlie_client.post(_url("recursion"), {"recursive_loop": "Allow"}).status_code == 404
    fn.refresh_from_db()
    assert fn.recursive_loop == "Terminate"


def test_the_recursion_form_needs_a_csrf_token(alice, fn):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(_url("recursion"), {"recursive_loop": "Allow"}).status_code == 403
    fn.refresh_from_db()
    assert fn.recursive_loop == "Terminate"
