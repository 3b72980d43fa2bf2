"""Start this worker's executor when the Celery worker is ready; drain and stop it on shutdown.

Every process loads this module when Django starts (executor/apps.py), so `.node`, the
worker's machinery (the Docker SDK, the Runtime API server, the pool), is imported in the
handlers: only in a worker, when it starts or stops.
"""
from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from django.conf import settings


@worker_ready.connect
def start_executor(**_: object) -> None:
    from .node import get_node  # a worker's only: see above

    node = get_node()
    node.remove_orphaned_containers()


@worker_shutting_down.connect
def drain_executor(how: str = "Warm", **_: object) -> None:
    """SIGTERM (or Ctrl-C): Celery stops consuming and waits for running tasks; ours get
    LAMBDA_WORKER_STOP_GRACE seconds, then are cut short and put back. A cold shutdown
    (SIGQUIT, a second Ctrl-C) gives them none. Runs in the signal handler: it only starts a thread."""
    from .node import request_stop  # a worker's only: see above

    request_stop(0.0 if how == "Cold" else float(settings.LAMBDA_WORKER_STOP_GRACE))


@worker_shutdown.connect
def stop_executor(**_: object) -> None:
    from .node import shutdown_node  # a worker's only: see above

    shutdown_node()
