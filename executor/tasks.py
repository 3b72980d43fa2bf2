"""Celery tasks: the entry points of the executor on a worker.

Both tasks take plain values. The synchronous one answers through a Redis list the caller
is waiting on; the asynchronous one works from its Invocation row, so that an event is
never lost: the row says what is left to do, whoever runs it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from console.errors import LambdaError, ServiceError
from console.models import Invocation

from . import events, queues, recursion
from .containers import EngineUnavailable
from .dbwrite import with_retries
from .events import EventPolicy
from .node import WorkerStopping, get_node
from .reaper import WORKER_LOST, release_dead_workers_leases, requeue_orphaned_invocations, resend_lost_events
from .result import decode_payload
from .run import SyncContext, execute, record_async
from .spec import EnvSpec
from .spec_builder import spec_for

log = logging.getLogger(__name__)

THROTTLED_RETRY_DELAY = 1.0  # an async event over its concurrency cap waits in the queue
STOPPING_MESSAGE = WORKER_LOST  # the same words, whether the worker stopped or died
ENGINE_MESSAGE = "The execution environment could not be started: the container engine is unavailable. Try again."
ENGINE_RETRY_DELAY = 2.0  # an event that found the engine down waits this long in the queue
WORKER_FAULT = "The invocation failed on the worker; see the worker's log."


# Synchronous: the caller waits for the answer, so nothing is retried here (AWS leaves
# retries of synchronous calls to the caller) and no result backend is needed.
@shared_task(name=queues.SYNC_TASK, queue=queues.SYNC_QUEUE, ignore_result=True, acks_late=False)
def invoke_sync(sealed_spec: str, request_id: str, payload: str, source: str, qualifier: str) -> None:
    """Run one synchronous invocation (`payload`: the event in base64) and push its result to
    the caller's reply list."""
    started = timezone.now()
    try:
        event = decode_payload(payload)
        # A spec that does not unseal (forged, or sealed under keys this worker lacks) is refused.
        execute(EnvSpec.unseal(sealed_spec), request_id, event, SyncContext(started, source, qualifier, len(event)))
    except WorkerStopping as exc:
        # Its caller gets AWS's ServiceException now instead of waiting out the timeout, and may retry.
        log.warning("%s", exc)
        queues.push_failure(request_id, STOPPING_MESSAGE)
    except EngineUnavailable as exc:
        log.warning("invocation %s not started: %s", request_id, exc)
        queues.push_failure(request_id, ENGINE_MESSAGE)
    except Exception:
        # The caller must hear at once that this went wrong on our side, not time out.
        queues.push_failure(request_id)
        raise


# Asynchronous: acknowledged only when done (acks_late) and handed out again if the worker
# dies (reject_on_worker_lost); the reaper re-queues a dead worker's events sooner. The
# conditional claim below makes a second delivery of the same event harmless.
@shared_task(name=queues.ASYNC_TASK, queue=queues.ASYNC_QUEUE, ignore_result=True,
             acks_late=True, reject_on_worker_lost=True)
def invoke_async(request_id: str) -> None:
    """Run (or retry) one asynchronous invocation recorded as queued."""
    # The function's environment variables are read (and decrypted) while its spec is built
    # below, where a failure is the event's to report, not while the event is looked up.
    invocation = (Invocation.objects.select_related("function__account").defer("function__environment")
                  .filter(request_id=request_id, status=Invocation.Status.QUEUED).first())
    if invocation is None:
        return  # done already, or its function is gone
    policy = events.policy_for(invocation)
    try:
        spec = spec_for(invocation.function, invocation.qualifier)
    except Exception as exc:
        _cannot_run(invocation, policy, exc)
        return
    if events.too_old(invocation, policy):
        _age_out(invocation, policy)
        return
    if recursion.must_stop(invocation):
        _stop_loop(invocation, policy)
        return
    node = get_node()
    if node.stopping.is_set():
        _send_again(request_id)  # for another worker, or this one once restarted
        return
    claimed = Invocation.objects.filter(pk=invocation.pk, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.RUNNING, worker=node.worker_id, attempts=F("attempts") + 1,
        started=timezone.now())
    if not claimed:
        return  # another delivery of this event got there first
    try:
        _run_claimed(invocation, spec, policy, node.worker_id)
    except Exception:
        # No reaper takes back the events of a live worker: left `running`, this one would stay so.
        log.exception("event %s failed on this worker", request_id)
        _failed_here(invocation, policy, node.worker_id)


def _run_claimed(invocation: Invocation, spec: EnvSpec, policy: EventPolicy, worker_id: str) -> None:
    request_id = str(invocation.request_id)
    try:
        result, outcome = execute(spec, request_id, invocation.payload.encode(), qualifier=invocation.qualifier)
    except (WorkerStopping, EngineUnavailable) as exc:
        # The host failed, not the function: back to the queue with this attempt uncounted.
        log.warning("%s; re-queueing event %s", exc, request_id)
        with_retries(lambda: Invocation.objects.filter(
            pk=invocation.pk, status=Invocation.Status.RUNNING, worker=worker_id).update(
            status=Invocation.Status.QUEUED, attempts=F("attempts") - 1, worker=""), f"re-queueing event {request_id}")
        _send_again(request_id, 0.0 if isinstance(exc, WorkerStopping) else ENGINE_RETRY_DELAY)
        return
    if result.status == Invocation.Status.THROTTLED:
        with_retries(lambda: Invocation.objects.filter(pk=invocation.pk).update(
            status=Invocation.Status.QUEUED, attempts=F("attempts") - 1, worker="",
            due=timezone.now() + dt.timedelta(seconds=THROTTLED_RETRY_DELAY)), f"re-queueing event {request_id}")
        queues.send_event(request_id, THROTTLED_RETRY_DELAY)
        return
    attempts = invocation.attempts + 1
    failed = result.status == Invocation.Status.FAILED
    retry = failed and attempts <= policy.maximum_retry_attempts
    extra = {"response": result.response_text()}
    if retry:
        delay = events.retry_delay(attempts)
        extra.update(status=Invocation.Status.QUEUED, worker="", finished=None,
                     due=timezone.now() + dt.timedelta(seconds=delay))
    # The row decides what happens next: a write the database refused is retried, or this
    # event would stay `running` under a live worker, which no reaper touches.
    with_retries(lambda: record_async(spec, result, outcome, **extra), f"recording event {request_id}")
    if retry:
        queues.send_event(request_id, delay)
    elif failed:
        events.finish(invocation, policy, succeeded=False, condition="RetriesExhausted",
                      function_error=result.function_error)
    else:
        events.finish(invocation, policy, succeeded=True, condition="Success")


def _failed_here(invocation: Invocation, policy: EventPolicy, worker_id: str) -> None:
    """The worker failed the event it had claimed (a fault of ours, not the function's): the
    attempt counts as a failed one and is retried like a function error, so a fault that
    repeats ends at the failure destination or the dead-letter list, never in a loop."""
    request_id = str(invocation.request_id)
    attempts = invocation.attempts + 1
    retry = attempts <= policy.maximum_retry_attempts
    now = timezone.now()
    fields: dict = dict(error_type=ServiceError.code, finished=now,
                        response=json.dumps({"errorMessage": WORKER_FAULT, "errorType": ServiceError.code}))
    if retry:
        delay = events.retry_delay(attempts)
        fields.update(status=Invocation.Status.QUEUED, worker="", finished=None, due=now + dt.timedelta(seconds=delay))
    else:
        fields.update(status=Invocation.Status.FAILED)
    changed = with_retries(lambda: Invocation.objects.filter(
        pk=invocation.pk, status=Invocation.Status.RUNNING, worker=worker_id).update(**fields),
        f"recording the failure of event {request_id}")
    if not changed:
        return  # its result was written before the fault: nothing is left running
    if retry:
        queues.send_event(request_id, delay)
    else:
        events.finish(invocation, policy, succeeded=False, condition="RetriesExhausted")


def _cannot_run(invocation: Invocation, policy: EventPolicy, exc: Exception) -> None:
    """An event whose function cannot be prepared: the version or alias it names was deleted
    while it waited (ResourceNotFoundException), or its configuration cannot be read, such as
    environment variables under a key missing from LAMBDA_ENCRYPTION_KEYS (ServiceException,
    logged for the operator). Like any failed event it goes to its failure destination, else
    to the dead-letter list."""
    if isinstance(exc, LambdaError):
        error_type, message = exc.code, exc.message
        log.warning("event %s of %s not run: %s", invocation.request_id, invocation.function.arn, message)
    else:
        error_type, message = ServiceError.code, str(exc)
        log.error("event %s of %s not run: %s", invocation.request_id, invocation.function.arn, exc, exc_info=exc)
    changed = Invocation.objects.filter(pk=invocation.pk, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.FAILED, error_type=error_type, finished=timezone.now(),
        response=json.dumps({"errorMessage": message, "errorType": error_type}))
    if changed:
        events.finish(invocation, policy, succeeded=False, condition="RetriesExhausted")


def _send_again(request_id: str, delay: float = 0.0) -> None:
    """A fresh message for a queued event (the one being handled is acknowledged on return);
    `due` tells the reaper when it was sent, should this one be lost too."""
    Invocation.objects.filter(request_id=request_id, status=Invocation.Status.QUEUED).update(
        due=timezone.now() + dt.timedelta(seconds=delay))
    queues.send_event(request_id, delay)


def _age_out(invocation: Invocation, policy: EventPolicy) -> None:
    changed = Invocation.objects.filter(pk=invocation.pk, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.FAILED, error_type="EventAgeExceeded", finished=timezone.now())
    if changed:
        events.finish(invocation, policy, succeeded=False, condition="EventAgeExceeded")


def _stop_loop(invocation: Invocation, policy: EventPolicy) -> None:
    """Do not run an event that would take its function round a loop once more (AWS: after 16)."""
    now = timezone.now()
    message = (f"Lambda has detected your function {invocation.function.name} being invoked in a recursive loop "
               f"({invocation.chain_depth} invocations by one event) and stopped the invocation.")
    changed = Invocation.objects.filter(pk=invocation.pk, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.FAILED, error_type=recursion.ERROR, started=now, finished=now,
        response=json.dumps({"errorMessage": message, "errorType": recursion.ERROR}))
    if not changed:
        return
    log.warning("stopped event %s of %s: recursive loop", invocation.request_id, invocation.function.arn)
    if recursion.parent_was_stopped(invocation):
        Invocation.objects.filter(pk=invocation.pk).update(dead_lettered=True)
        return
    events.finish(invocation, policy, succeeded=False, condition=recursion.CONDITION)


@shared_task(name=queues.REAP_TASK, ignore_result=True, queue=queues.ASYNC_QUEUE)
def reap() -> int:
    """Re-queue what dead workers or a lost message left behind (run by beat; workers run it too)."""
    return release_dead_workers_leases() + requeue_orphaned_invocations() + resend_lost_events()
