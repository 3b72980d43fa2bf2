"""An event that fails on our side, not in its function, is never silent: it ends with the
right error, at its failure destination or in the dead-letter list, and is never left `running`.

The event task runs here, in the test's process, on the test's database (no worker needed: an
event that cannot be prepared never reaches one). Where the worker itself must fail, its node
and its `execute` are fakes at that boundary.
"""
from __future__ import annotations

import json
import threading
import uuid
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from django.utils import timezone

from console.models import Invocation
from console.services.async_config import event_invoke_config_put
from console.services.versions import version_delete, version_publish
from executor import queues, tasks

from .conftest import python_function

pytestmark = pytest.mark.django_db

HANDLER = "def lambda_handler(e, c):\n    return 1\n"


def queued_event(fn, qualifier: str = "", payload: str = '{"n": 1}') -> str:
    """An event as `invoke` leaves it for a worker (its message is what the test's call stands for)."""
    request_id = str(uuid.uuid4())
    Invocation.objects.create(request_id=request_id, function=fn, qualifier=qualifier, version=qualifier or "$LATEST",
                              invocation_type=Invocation.Type.EVENT, source="api", status=Invocation.Status.QUEUED,
                              payload=payload, payload_size=len(payload), due=timezone.now())
    return request_id


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """The events' messages to the queue, kept here instead (no worker of this test would take them)."""
    messages: list[tuple] = []
    monkeypatch.setattr(queues, "send_event", lambda request_id, delay=0.0: messages.append((request_id, delay)))
    return messages


def test_an_event_for_a_deleted_version_goes_to_its_failure_destination(alice_account, sent):
    sink = python_function(alice_account, HANDLER, name="failure-sink")
    fn = python_function(alice_account, HANDLER)
    version_publish(fn)
    event_invoke_config_put(fn, "1", on_failure=sink.arn)
    request_id = queued_event(fn, qualifier="1")
    version_delete(fn, "1")

    tasks.invoke_async(request_id)

    row = Invocation.objects.get(request_id=request_id)
    assert (row.status, row.error_type) == (Invocation.Status.FAILED, "ResourceNotFoundException")
    assert json.loads(row.response)["errorType"] == "ResourceNotFoundException"
    assert row.destination == sink.arn and not row.dead_lettered
    record = json.loads(Invocation.objects.get(function=sink, source="destination").payload)
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 1}


def test_an_event_whose_environment_cannot_be_decrypted_is_dead_lettered_as_a_service_fault(
        alice_account, sent, caplog):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_a]):
        fn = python_function(alice_account, HANDLER, environment={"TOKEN": "under-a"})
        request_id = queued_event(fn)
    with override_settings(LAMBDA_ENCRYPTION_KEYS=[key_b]):  # the key of its variables is gone
        tasks.invoke_async(request_id)

    row = Invocation.objects.get(request_id=request_id)
    assert (row.status, row.error_type) == (Invocation.Status.FAILED, "ServiceException")  # not "not found"
    assert "LAMBDA_ENCRYPTION_KEYS" in json.loads(row.response)["errorMessage"]
    assert row.dead_lettered and row.attempts == 0
    assert any(request_id in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


@pytest.fixture
def failing_worker(monkeypatch):
    """This process as a worker whose run of an invocation raises (a fault of ours, not the function's)."""
    node = SimpleNamespace(worker_id="test-worker-1", stopping=threading.Event())
    monkeypatch.setattr(tasks, "get_node", lambda: node)

    def execute(*args, **kwargs):
        raise RuntimeError("the worker broke")

    monkeypatch.setattr(tasks, "execute", execute)
    return node


def test_a_fault_after_the_event_was_claimed_is_a_failed_attempt_retried_later(alice_account, failing_worker,
                                                                                 sent):
    fn = python_function(alice_account, HANDLER)
    request_id = queued_event(fn)

    tasks.invoke_async(request_id)

    row = Invocation.objects.get(request_id=request_id)
    assert row.status == Invocation.Status.QUEUED and row.worker == ""  # not left running under a live worker
    assert row.attempts == 1 and row.error_type == "ServiceException" and row.due > timezone.now()
    assert sent == [(request_id, 1.0)]  # the first retry's delay (LAMBDA_ASYNC_RETRY_DELAYS)


def test_a_fault_on_the_last_attempt_sends_the_event_to_the_dead_letter_list(alice_account, failing_worker, sent):
    fn = python_function(alice_account, HANDLER)
    event_invoke_config_put(fn, maximum_retry_attempts=0)
    request_id = queued_event(fn)

    tasks.invoke_async(request_id)

    row = Invocation.objects.get(request_id=request_id)
    assert (row.status, row.error_type, row.attempts) == (Invocation.Status.FAILED, "ServiceException", 1)
    assert row.dead_lettered and row.finished is not None
    assert sent == []
