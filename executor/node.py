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

from . import concurrency, containers, netpolicy
from .pool import Pool
from .runtime_api import RuntimeAPIServer
from .spec import EnvSpec

log = logging.getLogger(__name__)

HEARTBEAT_PREFIX = "lambda:worker:"
ORPHAN_SWEEP_EVERY = 30.0


def publish_line(spec: EnvSpec, log_stream: str, request_id: str, timestamp: int, message: str) -> None:
    realtime.publish_log_line(spec.account_id, spec.function_name, {
        "request_id": request_id, "log_stream": log_stream, "timestamp": timestamp, "message": message,
    })


def worker_alive(worker_id: str) -> bool:
    return bool(concurrency.connection().exists(HEARTBEAT_PREFIX + worker_id))


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
        self._beat()
        threading.Thread(target=self._housekeeping, daemon=True, name="executor-housekeeping").start()
        log.info("executor %s: Runtime API at %s", self.worker_id, self.server.address)

    def _beat(self) -> None:
        ttl = settings.LAMBDA_WORKER_HEARTBEAT
        concurrency.connection().set(HEARTBEAT_PREFIX + self.worker_id, "1", ex=ttl)

    def _housekeeping(self) -> None:
        from .reaper import requeue_orphaned_invocations, resend_lost_events

        interval = max(1.0, settings.LAMBDA_WORKER_HEARTBEAT / 3)
        last_sweep = 0.0
        while not self.stopped.wait(interval):
            try:
                self._beat()
                self.pool.reap_idle(settings.LAMBDA_IDLE_TIMEOUT)
                self.retire_changed_functions()
                if time.monotonic() - last_sweep > ORPHAN_SWEEP_EVERY:
                    last_sweep = time.monotonic()
                    self.remove_orphaned_containers()
                requeue_orphaned_invocations()
                resend_lost_events()
            except Exception:  # housekeeping must outlive a Redis or Docker hiccup
                log.exception("executor housekeeping failed")

    def retire_changed_functions(self) -> int:
        """Environments whose function changed or went away since they started.

        A changed function's next invocation would retire them anyway; this frees their
        memory within seconds of the change even if no invocation comes.
        """
        from console.models import Function

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
            if owner != self.worker_id and not worker_alive(owner):
                containers.remove(container["id"])
                removed += 1
        return removed

    def shutdown(self) -> None:
        self.stopped.set()
        self.pool.shutdown()
        self.server.shutdown()
        concurrency.connection().delete(HEARTBEAT_PREFIX + self.worker_id)


_node: Node | None = None
_node_lock = threading.Lock()


def get_node() -> Node:
    global _node
    with _node_lock:
        if _node is None:
            _node = Node()
        return _node


def shutdown_node() -> None:
    global _node
    with _node_lock:
        if _node is not None:
            _node.shutdown()
            _node = None
