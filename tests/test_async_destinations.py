"""Asynchronous invocation configuration: retries, event age and destinations, for real."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from console.errors import InvalidParameterValue
from console.models import Invocation
from console.services.async_config import event_invoke_config_put
from executor.invoke import invoke

from .conftest import eventually, python_function

pytestmark = pytest.mark.integration

RECORDER = """
import json
def lambda_handler(event, context):
    print("RECORD " + json.dumps(event))
    return "stored"
"""


def received_records(fn) -> list[dict]:
    from console.models import LogEvent

    return [json.loads(e.message[len("RECORD "):]) for e in
            LogEvent.objects.filter(function=fn, message__startswith="RECORD ").order_by("timestamp")]


def test_failing_event_reaches_its_failure_destination_after_exactly_three_attempts(worker, alice_account):
    sink = python_function(alice_account, RECORDER, name="failure-sink")
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    raise ValueError('nope ' + e['id'])\n")
    event_invoke_config_put(fn, on_failure=sink.arn)
    result = invoke(fn, '{"id": "42"}', invocation_type="Event")
    records = eventually(lambda: received_records(sink) or None, timeout=40)
    record = records[0]
    assert record["requestContext"] == {
        "requestId": result.request_id, "functionArn": f"{fn.arn}:$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"id": "42"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "nope 42"
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    row = Invocation.objects.get(request_id=result.request_id)
    assert row.attempts == 3 and row.destination == sink.arn and not row.dead_lettered
    sink_row = Invocation.objects.get(function=sink)
    assert sink_row.source == "destination"


def test_success_destination_gets_the_result(worker, alice_account):
    sink = python_function(alice_account, RECORDER, name="success-sink")
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return {'doubled': e['n'] * 2}\n")
    event_invoke_config_put(fn, on_success=sink.arn)
    invoke(fn, '{"n": 4}', invocation_type="Event")
    record = eventually(lambda: received_records(sink) or None, timeout=20)[0]
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"] == {"doubled": 8}
    assert "functionError" not in record["responseContext"]


def test_zero_retries_and_no_destination_keeps_the_failed_event(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    raise RuntimeError('x')\n")
    event_invoke_config_put(fn, maximum_retry_attempts=0)
    result = invoke(fn, "{}", invocation_type="Event")
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id, dead_lettered=True), timeout=20)
    assert row.attempts == 1 and row.status == Invocation.Status.FAILED and row.payload == "{}"


def test_an_event_older_than_its_maximum_age_is_not_run(worker, alice_account):
    sink = python_function(alice_account, RECORDER, name="age-sink")
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    print('ran')\n")
    event_invoke_config_put(fn, maximum_event_age=60, on_failure=sink.arn)
    stale = Invocation.objects.create(function=fn, invocation_type="Event", payload='{"old": true}',
                                      received=timezone.now() - dt.timedelta(minutes=5))
    from executor.tasks import invoke_async

    invoke_async.delay(str(stale.request_id))
    record = eventually(lambda: received_records(sink) or None, timeout=20)[0]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"old": True}
    stale.refresh_from_db()
    assert stale.status == Invocation.Status.FAILED and stale.attempts == 0


def test_configuration_is_validated(alice_account, charlie_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    other = python_function(charlie_account, "def lambda_handler(e, c):\n    return 1\n")
    for bad in ({"maximum_retry_attempts": 3}, {"maximum_event_age": 59}, {"maximum_event_age": 21601},
                {"on_failure": other.arn}, {"on_success": "arn:aws:sqs:us-east-1:111111111111:queue"}):
        with pytest.raises(InvalidParameterValue):
            event_invoke_config_put(fn, **bad)
    config = event_invoke_config_put(fn, maximum_retry_attempts=1, maximum_event_age=120)
    assert (config.maximum_retry_attempts, config.maximum_event_age) == (1, 120)
