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

from console.models import Invocation

from . import concurrency, events, recursion
from .containers import EngineUnavailable
from .dbwrite import with_retries
from .node import WorkerStopping, get_node
from .run import REPLY_TTL, SyncContext, execute, record_async
from .spec import EnvSpec
from .specs import spec_for

log = logging.getLogger(__name__)

THROTTLED_RETRY_DELAY = 1.0  # an async event over its concurrency cap waits in the queue
STOPPING_MESSAGE = "The worker running this invocation stopped before it finished. Try again."
ENGINE_MESSAGE = "The execution environment could not be started: the container engine is unavailable. Try again."
ENGINE_RETRY_DELAY = 2.0  # an event that found the engine down waits this long in the queue


def reply_key(request_id: str) -> str:
    return f"lambda:reply:{request_id}"


def _reply(request_id: str, answer: dict) -> None:
    key = reply_key(request_id)
    pipe = concurrency.connection().pipeline(transaction=False)
    pipe.rpush(key, json.dumps(answer))
    pipe.expire(key, REPLY_TTL)
    pipe.execute()


# Synchronous: the caller waits for the answer, so nothing is retried here (AWS leaves
# retries of synchronous calls to the caller) and no result backend is needed.
@shared_task(name="executor.tasks.invoke_sync", queue="lambda.sync", ignore_result=True,
             acks_late=False)
def invoke_sync(sealed_spec: str, request_id: str, payload: str, source: str, qualifier: str) -> None:
    """Run one synchronous invocation and push its Execution to the caller's reply list."""
    started = timezone.now()
    sync = SyncContext(reply_key(request_id), started, source, qualifier, len(payload.encode()))
    try:
        # A spec that does not unseal (forged, or sealed under keys this worker lacks) is refused.
        execute(EnvSpec.unseal(sealed_spec), request_id, payload.encode(), sync)
    except WorkerStopping as exc:
        # Its caller gets AWS's ServiceException now instead of waiting out the timeout, and may retry.
        log.warning("%s", exc)
        _reply(request_id, {"status": "error", "message": STOPPING_MESSAGE})
    except EngineUnavailable as exc:
        log.warning("invocation %s not started: %s", request_id, exc)
        _reply(request_id, {"status": "error", "message": ENGINE_MESSAGE})
    except Exception:
        # The caller must hear at once that this went wrong on our side, not time out.
        _reply(request_id, {"status": "error"})
        raise


# Asynchronous: acknowledged only when done (acks_late) and handed out again if the worker
# dies (reject_on_worker_lost); the reaper re-queues a dead worker's events sooner. The
# conditional claim below makes a second delivery of the same event harmless.
@shared_task(name="executor.tasks.invoke_async", queue="lambda.async", ignore_result=True,
             acks_late=True, reject_on_worker_lost=True)
def invoke_async(request_id: str) -> None:
    """Run (or retry) one asynchronous invocation recorded as queued."""
    invocation = (Invocation.objects.select_related("function__account")
                  .filter(request_id=request_id, status=Invocation.Status.QUEUED).first())
    if invocation is None:
        return  # done already, or its function is gone
    try:
        spec = spec_for(invocation.function, invocation.qualifier)
    except Exception as exc:  # the version was deleted while the event waited
        Invocation.objects.filter(pk=invocation.pk).update(
            status=Invocation.Status.FAILED, error_type="ResourceNotFoundException", response=str(exc),
            finished=timezone.now())
        return
    policy = events.policy_for(invocation)
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
        execution, outcome = execute(spec, request_id, invocation.payload.encode(), qualifier=invocation.qualifier)
    except (WorkerStopping, EngineUnavailable) as exc:
        # The host failed, not the function: back to the queue with this attempt uncounted.
        log.warning("%s; re-queueing event %s", exc, request_id)
        with_retries(lambda: Invocation.objects.filter(
            pk=invocation.pk, status=Invocation.Status.RUNNING, worker=node.worker_id).update(
            status=Invocation.Status.QUEUED, attempts=F("attempts") - 1, worker=""), f"re-queueing event {request_id}")
        _send_again(request_id, 0.0 if isinstance(exc, WorkerStopping) else ENGINE_RETRY_DELAY)
        return
    if execution.status == Invocation.Status.THROTTLED:
        with_retries(lambda: Invocation.objects.filter(pk=invocation.pk).update(
            status=Invocation.Status.QUEUED, attempts=F("attempts") - 1, worker="",
            due=timezone.now() + dt.timedelta(seconds=THROTTLED_RETRY_DELAY)), f"re-queueing event {request_id}")
        invoke_async.apply_async((request_id,), countdown=THROTTLED_RETRY_DELAY)
        return
    attempts = invocation.attempts + 1
    failed = execution.status == Invocation.Status.FAILED
    retry = failed and attempts <= policy.maximum_retry_attempts
    extra = {"response": execution.payload}
    if retry:
        delay = events.retry_delay(attempts)
        extra.update(status=Invocation.Status.QUEUED, worker="", finished=None,
                     due=timezone.now() + dt.timedelta(seconds=delay))
    # The row decides what happens next: a write the database refused is retried, or this
    # event would stay `running` under a live worker, which no reaper touches.
    with_retries(lambda: record_async(spec, execution, outcome, **extra), f"recording event {request_id}")
    if retry:
        invoke_async.apply_async((request_id,), countdown=delay)
    elif failed:
        events.finish(invocation, policy, succeeded=False, condition="RetriesExhausted",
                      function_error=execution.function_error)
    else:
        events.finish(invocation, policy, succeeded=True, condition="Success")


def _send_again(request_id: str, delay: float = 0.0) -> None:
    """A fresh message for a queued event (the one being handled is acknowledged on return);
    `due` tells the reaper when it was sent, should this one be lost too."""
    Invocation.objects.filter(request_id=request_id, status=Invocation.Status.QUEUED).update(
        due=timezone.now() + dt.timedelta(seconds=delay))
    invoke_async.apply_async((request_id,), countdown=delay)


def _age_out(invocation: Invocation, policy: events.EventPolicy) -> None:
    changed = Invocation.objects.filter(pk=invocation.pk, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.FAILED, error_type="EventAgeExceeded", finished=timezone.now())
    if changed:
        events.finish(invocation, policy, succeeded=False, condition="EventAgeExceeded")


def _stop_loop(invocation: Invocation, policy: events.EventPolicy) -> None:
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


@shared_task(name="executor.tasks.reap", ignore_result=True, queue="lambda.async")
def reap() -> int:
    """Re-queue what dead workers or a lost message left behind (run by beat; workers run it too)."""
    from .reaper import requeue_orphaned_invocations, resend_lost_events

    return requeue_orphaned_invocations() + resend_lost_events()
