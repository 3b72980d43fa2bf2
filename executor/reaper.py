"""Finding what a dead worker or a lost message left half-done, and putting it back in the queue."""
from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone

from console.models import Invocation

log = logging.getLogger(__name__)


def requeue_orphaned_invocations() -> int:
    """Asynchronous invocations marked running by a worker whose heartbeat has stopped.

    Each goes back to queued with its attempt uncounted (the function did not fail; the
    worker did), through a conditional update so that two reapers never both re-queue it.
    """
    from .node import worker_alive
    from .tasks import invoke_async

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
            invoke_async.delay(str(request_id))
            requeued += 1
    return requeued


LOST_AFTER = dt.timedelta(minutes=5)


def resend_lost_events() -> int:
    """Queued events whose message was due long ago: it was lost, so send it again.

    Every send sets the event's `due` time (a throttled event waiting for a slot sets it
    again each time it goes back to the queue), so only a message that vanished leaves it
    in the past. The conditional update lets one reaper, not several, send it; a second
    delivery would do nothing anyway, since a delivery must claim the queued row.
    """
    from .tasks import invoke_async

    now = timezone.now()
    lost = Invocation.objects.filter(status=Invocation.Status.QUEUED, invocation_type=Invocation.Type.EVENT,
                                     due__lt=now - LOST_AFTER).values_list("pk", "request_id", "due")[:100]
    resent = 0
    for pk, request_id, due in lost:
        if Invocation.objects.filter(pk=pk, status=Invocation.Status.QUEUED, due=due).update(due=now):
            log.warning("re-sending invocation %s: its message was due at %s", request_id, due)
            invoke_async.delay(str(request_id))
            resent += 1
    return resent
