"""Finding what a dead worker left half-done, and putting it back in the queue."""
from __future__ import annotations

import logging

from django.db.models import F

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
        ).update(status=Invocation.Status.QUEUED, worker="", attempts=F("attempts") - 1)
        if changed:
            log.warning("re-queueing invocation %s: worker %s stopped mid-run", request_id, worker)
            invoke_async.delay(str(request_id))
            requeued += 1
    return requeued
