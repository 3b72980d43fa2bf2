"""Finding what a dead worker or a lost message left half-done, and putting it back in the queue."""
from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone

from console.models import Invocation

from . import concurrency, queues, redis_client
from .heartbeats import worker_alive

log = logging.getLogger(__name__)


WORKER_LOST = "The worker running this invocation stopped before it finished. Try again."


def release_dead_workers_leases() -> int:
    """Concurrency leases held by a worker whose heartbeat has stopped: freed now, not when
    they expire (the function's timeout and more), and the synchronous callers of those
    invocations answered with AWS's ServiceException instead of waiting out their timeout.

    Deleting the holder's entry is the claim: of several reapers, only one answers a caller.
    """
    r = redis_client.client()
    dead: dict[str, bool] = {}
    freed = 0
    for request_id, text in r.hgetall(concurrency.HOLDERS_KEY).items():
        worker_id, account_id, function_arn, sync = concurrency.parse_holder(text.decode())
        if worker_id not in dead:
            dead[worker_id] = worker_id != "-" and not worker_alive(worker_id)
        if not dead[worker_id] or not r.hdel(concurrency.HOLDERS_KEY, request_id):
            continue
        request_id = request_id.decode()
        concurrency.release(account_id, function_arn, request_id)
        if sync:
            log.warning("invocation %s of %s: worker %s stopped mid-run; its caller is told so",
                        request_id, function_arn, worker_id)
            queues.push_failure(request_id, WORKER_LOST)
        freed += 1
    return freed


def requeue_orphaned_invocations() -> int:
    """Asynchronous invocations marked running by a worker whose heartbeat has stopped.

    Each goes back to queued with its attempt uncounted (the function did not fail; the
    worker did), through a conditional update so that two reapers never both re-queue it.
    """
    requeued = 0
    running = Invocation.objects.filter(status=Invocation.Status.RUNNING,
                                        invocation_type=Invocation.Type.EVENT).values_list("request_id", "worker")
    dead: dict[str, bool] = {}
    for request_id, worker in running:
        if worker not in dead:
            dead[worker] = not worker or not worker_alive(worker)
        if not dead[worker]:
            continue
        changed = Invocation.objects.filter(
            request_id=request_id, status=Invocation.Status.RUNNING, worker=worker,
        ).update(status=Invocation.Status.QUEUED, worker="", attempts=F("attempts") - 1, due=timezone.now())
        if changed:
            log.warning("re-queueing invocation %s: worker %s stopped mid-run", request_id, worker)
            queues.send_event(request_id)
            requeued += 1
    return requeued


LOST_AFTER = dt.timedelta(minutes=5)
# With no message waiting in the queue every message has reached a worker, so an event still
# queued this long after its message was due is one whose message vanished (a Redis killed
# while handing it out) or one a busy worker holds: a second copy is harmless, see below.
LOST_WHEN_QUEUE_EMPTY_AFTER = dt.timedelta(seconds=30)


def _messages_waiting() -> int:
    """Messages in the async queue not yet handed to a worker (Kombu keeps one list per priority)."""
    r = redis_client.client()
    queue = queues.ASYNC_QUEUE
    return sum(r.llen(key) for key in (queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))))


def resend_lost_events() -> int:
    """Queued events whose message was due long ago: it was lost, so send it again.

    Every send sets the event's `due` time (a throttled event waiting for a slot sets it
    again each time it goes back to the queue), so only a message that vanished leaves it
    in the past: for 30 s when the queue is empty, for 5 minutes behind a backlog. The
    conditional update lets one reaper, not several, send it; a second delivery would do
    nothing anyway, since a delivery must claim the queued row.
    """
    now = timezone.now()
    after = LOST_WHEN_QUEUE_EMPTY_AFTER if _messages_waiting() == 0 else LOST_AFTER
    lost = Invocation.objects.filter(status=Invocation.Status.QUEUED, invocation_type=Invocation.Type.EVENT,
                                     due__lt=now - after).values_list("pk", "request_id", "due")[:100]
    resent = 0
    for pk, request_id, due in lost:
        if Invocation.objects.filter(pk=pk, status=Invocation.Status.QUEUED, due=due).update(due=now):
            log.warning("re-sending invocation %s: its message was due at %s", request_id, due)
            queues.send_event(request_id)
            resent += 1
    return resent
