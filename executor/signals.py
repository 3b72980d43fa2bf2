"""Start this worker's executor when the Celery worker is ready; stop it on shutdown."""
from celery.signals import worker_ready, worker_shutdown


@worker_ready.connect
def start_executor(**_: object) -> None:
    from .node import get_node

    node = get_node()
    node.remove_orphaned_containers()


@worker_shutdown.connect
def stop_executor(**_: object) -> None:
    from .node import shutdown_node

    shutdown_node()
