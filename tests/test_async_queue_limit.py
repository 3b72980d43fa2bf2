"""The bound on a function's waiting asynchronous events (LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION).

AWS answers an event it cannot queue with an error instead of 202
(docs.aws.amazon.com/lambda/latest/dg/invocation-async.html: "If Lambda is not able to add
the event to the queue, the error message appears in the command output"); a throttle is a
429 TooManyRequestsException with a Reason (botocore's Lambda model, ThrottleReason).
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.conf import settings as django_settings

from console.errors import TooManyRequests
from console.models import Invocation
from executor.invoke import QUEUE_FULL, invoke

from .conftest import python_function

ECHO = "def lambda_handler(event, context):\n    return 'ok'\n"


def test_an_event_over_the_bound_is_refused_and_counted_as_a_throttle(alice_account, settings):
    settings.LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION = 2
    fn = python_function(alice_account, ECHO)
    other = python_function(alice_account, ECHO)
    for _ in range(2):
        assert invoke(fn, "{}", invocation_type="Event").status_code == 202
    with pytest.raises(TooManyRequests) as refused:
        invoke(fn, '{"third": true}', invocation_type="Event")
    assert refused.value.extra == {"Reason": QUEUE_FULL}
    assert "already has 2 asynchronous events waiting" in refused.value.message
    assert Invocation.objects.filter(function=fn, status=Invocation.Status.QUEUED).count() == 2
    throttled = Invocation.objects.get(function=fn, status=Invocation.Status.THROTTLED)
    assert throttled.error_type == QUEUE_FULL and throttled.payload == ""  # the event is not kept
    # The bound is per function, and synchronous calls are not queued events.
    assert invoke(other, "{}", invocation_type="Event").status_code == 202
    assert invoke(fn, "{}", invocation_type="DryRun").status_code == 204


def test_the_count_query_uses_an_index(alice_account):
    from django.db import connection

    fn = python_function(alice_account, ECHO)
    queryset = Invocation.objects.filter(function=fn, status=Invocation.Status.QUEUED)
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan


@pytest.mark.integration
def test_boto3_event_invoke_over_the_bound_gets_429_and_queues_nothing(alice_lambda, alice_account):
    # The bound is the live server's own setting (the default); fill the queue to it with
    # rows no message points at, so no worker runs them meanwhile.
    limit = django_settings.LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION
    fn = python_function(alice_account, ECHO, name="busy")
    Invocation.objects.bulk_create(
        Invocation(function=fn, invocation_type=Invocation.Type.EVENT, status=Invocation.Status.QUEUED,
                   payload="{}") for _ in range(limit))
    with pytest.raises(ClientError) as refused:
        alice_lambda.invoke(FunctionName="busy", InvocationType="Event", Payload=b'{"one": "more"}')
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == QUEUE_FULL
    assert Invocation.objects.filter(function=fn, status=Invocation.Status.QUEUED).count() == limit
    assert Invocation.objects.filter(function=fn, status=Invocation.Status.THROTTLED).count() == 1

    # Room again once an event leaves the queue.
    Invocation.objects.filter(pk=Invocation.objects.filter(function=fn).order_by("pk").first().pk).delete()
    assert alice_lambda.invoke(FunctionName="busy", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
