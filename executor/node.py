"""This worker's share of the executor: its Runtime API server, its warm pool, and the
housekeeping thread that keeps both (and the shared state in Redis) honest.

The worker that owns a container owns its environment in memory; Redis only knows that
the worker is alive (a heartbeat key), so others can clean up after it if it dies.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
import uuid

from django.conf import settings

from console import realtime
from console.models import Function

from . import containers, heartbeats, netpolicy
from .pool import Pool
from .reaper import release_dead_workers_leases, requeue_orphaned_invocations, resend_lost_events
from .runtime_api import RuntimeAPIServer
from .spec import EnvSpec

log = logging.getLogger(__name__)

ORPHAN_SWEEP_EVERY = 30.0
# Seconds a stopping worker may take past its grace period (to end interrupted invocations and
# remove containers) before it exits anyway: a stop must be bounded, whatever is stuck.
STOP_MARGIN = 20.0


class WorkerStopping(Exception):
    """This worker is stopping: the invocation was not run, or was cut short, and must be put back."""


def publish_line(spec: EnvSpec, log_stream: str, request_id: str, timestamp: int, message: str) -> None:
    realtime.publish_log_line(spec.account_id, spec.function_name, {
        "request_id": request_id, "log_stream": log_stream, "timestamp": timestamp, "message": message,
    })


def runtime_api_server(host: str) -> RuntimeAPIServer:
    """The Runtime API on the first free port of LAMBDA_RUNTIME_API_PORTS: the network
    policy opens exactly that range, whichever worker holds which port."""
    for first, last in settings.LAMBDA_RUNTIME_API_PORTS:
        for port in range(first, last + 1):
            try:
                return RuntimeAPIServer(host, port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
    raise RuntimeError(f"no free port for the Runtime API on {host} in LAMBDA_RUNTIME_API_PORTS")


class Node:
    def __init__(self) -> None:
        # Unique per process: a restarted worker must not look like the one that died.
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.network = settings.LAMBDA_DOCKER_NETWORK
        gateway = containers.ensure_network(self.network)
        # Every start, not just the network's creation: iptables rules do not survive a reboot.
        netpolicy.ensure(self.network)
        self.server = runtime_api_server(gateway)
        self.server.start()
        self.pool = Pool(self.network, self.server.address, self.server.registry, self.worker_id, publish_line)
        self.stopped = threading.Event()
        # Set when the worker is asked to stop: no new invocation starts here after that.
        self.stopping = threading.Event()
        self._stop_deadline = float("inf")
        self._drainer: threading.Thread | None = None
        self._beat()
        threading.Thread(target=self._housekeeping, daemon=True, name="executor-housekeeping").start()
        log.info("executor %s: Runtime API at %s", self.worker_id, self.server.address)

    def _beat(self) -> None:
        heartbeats.beat(self.worker_id, settings.LAMBDA_WORKER_HEARTBEAT)

    def _housekeeping(self) -> None:
        interval = max(1.0, settings.LAMBDA_WORKER_HEARTBEAT / 3)
        # worker_ready swept at start; the next sweep comes as soon as a worker that died just
        # before this one started has surely missed its heartbeat (not 30 s later: a Ctrl-C in
        # between would leave its containers behind).
        last_sweep = time.monotonic() - ORPHAN_SWEEP_EVERY + settings.LAMBDA_WORKER_HEARTBEAT + 1
        while not self.stopped.wait(interval):
            try:
                self._beat()
                self.pool.reap_idle(settings.LAMBDA_IDLE_TIMEOUT)
                self.retire_changed_functions()
                if time.monotonic() - last_sweep > ORPHAN_SWEEP_EVERY:
                    last_sweep = time.monotonic()
                    self.remove_orphaned_containers()
                release_dead_workers_leases()
                requeue_orphaned_invocations()
                resend_lost_events()
            except Exception:  # housekeeping must outlive a Redis or Docker hiccup
                log.exception("executor housekeeping failed")

    def retire_changed_functions(self) -> int:
        """Environments whose function changed or went away since they started.

        A changed function's next invocation would retire them anyway; this frees their
        memory within seconds of the change even if no invocation comes.
        """
        envs = self.pool.environments()
        if not envs:
            return 0
        revisions = {str(pk): str(revision) for pk, revision in Function.objects.filter(
            pk__in={env.spec.function_id for env in envs}).values_list("pk", "revision_id")}

        def stale(env) -> bool:
            current = revisions.get(str(env.spec.function_id))
            return current is None or (env.spec.version == "$LATEST" and current != env.spec.revision)

        return self.pool.retire(stale)

    def remove_orphaned_containers(self) -> int:
        """Containers left by a worker that died: nobody can reach their runtime any more."""
        removed = 0
        for container in containers.managed_containers():
            owner = container["worker"]
            if owner != self.worker_id and not heartbeats.worker_alive(owner):
                containers.remove(container["id"])
                removed += 1
        return removed

    def request_stop(self, grace: float) -> None:
        """The worker was told to stop (its signal handler calls this, so little happens here):
        running invocations get `grace` seconds to finish, then are interrupted. A second call
        (a second Ctrl-C, a cold shutdown) can only shorten the grace."""
        self._stop_deadline = min(self._stop_deadline, time.monotonic() + grace)
        if not self.stopping.is_set():
            self.stopping.set()
            self._drainer = threading.Thread(target=self._drain, daemon=True, name="executor-drain")
            self._drainer.start()

    def _drain(self) -> None:
        running = self.pool.busy_count()
        if running:
            log.warning("worker stopping: %d invocation(s) running, %.0f s to finish",
                        running, max(0.0, self._stop_deadline - time.monotonic()))
        # Celery's warm shutdown waits for every running task, however long its function's
        # timeout: past the grace, invocations are cut short and their tasks put them back.
        while not self.pool.quiet() and time.monotonic() < self._stop_deadline:
            time.sleep(0.05)
        interrupted = self.pool.interrupt()
        if interrupted:
            log.warning("worker stopping: interrupted %d invocation(s) still running after the grace period",
                        interrupted)
        if not self.stopped.wait(STOP_MARGIN):
            # Something is stuck (a thread waiting on the database, the engine...): exit anyway.
            # The heartbeat goes first, so the reaper re-queues this worker's events and the next
            # worker removes its containers at once.
            log.error("worker did not stop %.0f s after its grace period; exiting now", STOP_MARGIN)
            try:
                heartbeats.forget(self.worker_id)
            finally:
                os._exit(1)

    def shutdown(self) -> None:
        self.stopped.set()
        if self._drainer is not None:
            self._drainer.join(timeout=STOP_MARGIN)  # it may still be removing interrupted containers
        self.pool.shutdown()
        self.server.shutdown()
        heartbeats.forget(self.worker_id)


_node: Node | None = None
_node_lock = threading.Lock()


def get_node() -> Node:
    global _node
    with _node_lock:
        if _node is None:
            _node = Node()
        return _node


def request_stop(grace: float) -> None:
    """Called from the worker's signal handler: no lock taken, nothing started if there is no node."""
    node = _node
    if node is not None:
        node.request_stop(grace)


def shutdown_node() -> None:
    global _node
    with _node_lock:
        if _node is not None:
            _node.shutdown()
            _node = None
