"""Asynchronous invocations, live log lines, and surviving a worker's death."""
from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
from channels.layers import get_channel_layer

from console.models import Invocation, LogEvent
from console.realtime import log_group
from executor.invoke import invoke

from .conftest import eventually, python_function

pytestmark = pytest.mark.integration


def test_log_lines_arrive_on_the_channels_group_in_order(worker, alice_account):
    fn = python_function(alice_account, """
def lambda_handler(event, context):
    for i in range(5):
        print("step", i)
    return "done"
""")
    layer = get_channel_layer()

    async def listen_while_invoking() -> list[dict]:
        channel = await layer.new_channel()
        await layer.group_add(log_group(alice_account.account_id, fn.name), channel)
        lines: list[dict] = []
        invocation = asyncio.get_running_loop().run_in_executor(None, lambda: invoke(fn, "{}"))
        while not any(line["message"].startswith("REPORT") for line in lines):
            message = await asyncio.wait_for(layer.receive(channel), timeout=15)
            assert message["type"] == "log.lines"
            lines += message["lines"]
        await invocation
        return lines

    # A thread of its own: the browser tests leave an event loop on the main thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        lines = pool.submit(asyncio.run, listen_while_invoking()).result(timeout=60)
    messages = [line["message"] for line in lines]
    request_id = lines[0]["request_id"]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert messages[1:6] == [f"step {i}" for i in range(5)]
    assert messages[6] == f"END RequestId: {request_id}"
    assert messages[7].startswith(f"REPORT RequestId: {request_id}\tDuration:")
    assert all(line["request_id"] == request_id for line in lines)
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)


def test_async_invocation_is_accepted_then_runs(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    print('async got', e)\n    return e\n")
    result = invoke(fn, '{"x": 1}', invocation_type="Event")
    assert result.status_code == 202 and result.payload == b""
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id,
                                                    status=Invocation.Status.SUCCEEDED))
    assert row.attempts == 1 and row.invocation_type == "Event"
    assert LogEvent.objects.filter(request_id=result.request_id, message="async got {'x': 1}").exists()


def test_async_function_error_is_retried_twice(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    raise RuntimeError('always')\n")
    result = invoke(fn, "{}", invocation_type="Event")
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id, status=Invocation.Status.FAILED,
                                                    finished__isnull=False), timeout=30)
    assert row.attempts == 3
    assert row.error_type == "RuntimeError"
    starts = LogEvent.objects.filter(request_id=result.request_id, message__startswith="START").count()
    assert starts == 3


def test_async_retry_that_succeeds_stops_retrying(worker, alice_account):
    fn = python_function(alice_account, """
attempts = 0
def lambda_handler(event, context):
    global attempts
    attempts += 1
    if attempts < 2:
        raise RuntimeError("first time fails")
    return attempts
""")
    result = invoke(fn, "{}", invocation_type="Event")
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id,
                                                    status=Invocation.Status.SUCCEEDED), timeout=30)
    assert row.attempts == 2
    assert row.response == "2"


def test_async_invocation_survives_its_worker_being_killed(worker, alice_account):
    fn = python_function(alice_account, """
import time
def lambda_handler(event, context):
    print("working")
    time.sleep(3)
    return "finished"
""", timeout=30)
    result = invoke(fn, "{}", invocation_type="Event")
    running = eventually(lambda: Invocation.objects.get(request_id=result.request_id,
                                                        status=Invocation.Status.RUNNING))
    assert f"-{worker.pid}-" in running.worker
    worker.kill()  # SIGKILL mid-run: no chance to clean up or acknowledge
    worker.start()
    row = eventually(lambda: Invocation.objects.get(request_id=result.request_id,
                                                    status=Invocation.Status.SUCCEEDED), timeout=60)
    assert row.response == '"finished"'
    assert row.attempts == 1  # the worker died, not the function: no attempt spent
    assert row.worker != running.worker


def test_async_events_over_the_concurrency_cap_wait_in_the_queue(worker, alice_account):
    from console.services.functions import function_set_concurrency

    fn = python_function(alice_account, "import time\ndef lambda_handler(e, c):\n    time.sleep(1)\n    return e['n']\n")
    function_set_concurrency(fn, 1)
    ids = [invoke(fn, f'{{"n": {n}}}', invocation_type="Event").request_id for n in range(3)]
    rows = eventually(lambda: list(Invocation.objects.filter(request_id__in=ids, status=Invocation.Status.SUCCEEDED))
                      if Invocation.objects.filter(request_id__in=ids, status=Invocation.Status.SUCCEEDED).count() == 3
                      else None, timeout=30)
    assert sorted(row.response for row in rows) == ["0", "1", "2"]
    assert all(row.attempts == 1 for row in rows)  # waiting is not failing
    assert not Invocation.objects.filter(function=fn, status=Invocation.Status.THROTTLED).exists()


def test_a_queued_event_whose_message_was_lost_is_sent_again(worker, alice_account):
    import datetime as dt

    from django.utils import timezone

    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 'found'\n")
    # A queued event whose broker message never arrived (say, a broker restarted without
    # persistence): due ten minutes ago, and no message anywhere.
    lost = Invocation.objects.create(function=fn, invocation_type="Event", payload="{}",
                                     due=timezone.now() - dt.timedelta(minutes=10))
    row = eventually(lambda: Invocation.objects.get(pk=lost.pk, status=Invocation.Status.SUCCEEDED), timeout=20)
    assert row.response == '"found"' and row.attempts == 1


def test_with_the_queue_empty_a_lost_message_is_sent_again_after_30_seconds(alice_account):
    """A Redis killed while handing a message out loses it: found in 30 s, not the backlog's 5 minutes."""
    import datetime as dt

    from django.utils import timezone

    from executor import redis_client
    from executor.reaper import resend_lost_events

    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    recent = Invocation.objects.create(function=fn, invocation_type="Event", payload="{}",
                                       due=timezone.now() - dt.timedelta(seconds=20))
    lost = Invocation.objects.create(function=fn, invocation_type="Event", payload="{}",
                                     due=timezone.now() - dt.timedelta(seconds=40))
    r = redis_client.client()
    r.delete("lambda.async")
    r.rpush("lambda.async", b"a message still waiting for a worker")  # a backlog: wait 5 minutes
    try:
        assert resend_lost_events() == 0
    finally:
        r.delete("lambda.async")
    assert resend_lost_events() == 1  # the queue is empty: only the 40 s old one is lost
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.due > timezone.now() - dt.timedelta(seconds=5) and recent.status == Invocation.Status.QUEUED
    r.delete("lambda.async")  # the message it sent: no worker runs in this test


def test_a_queued_event_still_due_is_left_alone(worker, alice_account):
    from django.utils import timezone

    from executor.reaper import resend_lost_events

    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    waiting = Invocation.objects.create(function=fn, invocation_type="Event", payload="{}", due=timezone.now())
    assert resend_lost_events() == 0
    waiting.refresh_from_db()
    assert waiting.status == Invocation.Status.QUEUED


def test_an_event_whose_message_redis_refused_is_still_accepted(alice_account, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    """The row makes the event accepted: an error here would have the caller send it twice."""
    from kombu.exceptions import OperationalError

    from executor import invoke as invoke_module

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    monkeypatch.setattr(invoke_module.queues, "send_event", refuse)
    with django_capture_on_commit_callbacks(execute=True) as sends:  # as when the caller's transaction commits
        result = invoke_module.invoke(fn, "{}", invocation_type="Event")
    assert len(sends) == 1
    assert result.status_code == 202
    assert Invocation.objects.get(request_id=result.request_id).status == Invocation.Status.QUEUED
