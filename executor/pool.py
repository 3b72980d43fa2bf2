"""The warm pool: execution environments of this worker, reused per function version.

An idle environment of the same spec is reused (a warm start); otherwise a new one is
started (a cold start). A newer spec of the same function version retires the older
environments: idle ones at once, busy ones when they finish.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .environment import Environment, LineSink
from .spec import EnvSpec

log = logging.getLogger(__name__)

MAX_PARALLEL_STARTS = 4
START_WAIT_LIMIT = 10.0  # seconds an invocation waits for a start slot before starting anyway


class Pool:
    def __init__(self, network: str, runtime_api: str, registry, worker: str, sink: LineSink) -> None:
        self.network = network
        self.runtime_api = runtime_api
        self.registry = registry
        self.worker = worker
        self.sink = sink
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # an environment went idle, or a start ended
        self.starting = 0
        self.idle: dict[str, list[Environment]] = {}
        self.busy: set[Environment] = set()
        self.current_key: dict[str, str] = {}  # family -> newest spec key seen

    def acquire(self, spec: EnvSpec) -> tuple[Environment, bool]:
        """An environment for this spec, marked busy; True when it is new (a cold start).

        At most MAX_PARALLEL_STARTS containers start at once: the engine starts them one
        after another anyway, and a burst of invocations that waits for a start slot is
        often served sooner by an environment that finishes its invocation meanwhile.
        """
        retired: list[Environment] = []
        env = None
        give_up_waiting = time.monotonic() + START_WAIT_LIMIT
        with self.lock:
            old_key = self.current_key.get(spec.family)
            if old_key != spec.key:
                self.current_key[spec.family] = spec.key
                if old_key is not None:
                    retired = self.idle.pop(old_key, [])
            while True:
                env = self._take_idle(spec.key, retired)
                if env is not None or self.starting < MAX_PARALLEL_STARTS:
                    break
                remaining = give_up_waiting - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            if env is not None:
                self.busy.add(env)
            else:
                self.starting += 1
        for old in retired:
            old.stop()
        if env is not None:
            return env, False
        env = Environment(spec, self.network, self.runtime_api, self.registry, self.worker, self.sink)
        started = False
        try:
            env.start()
            started = True
        finally:
            with self.lock:
                self.starting -= 1
                if started:
                    self.busy.add(env)
                self.changed.notify_all()
            if not started:
                env.stop()
        return env, True

    def _take_idle(self, key: str, retired: list[Environment]) -> Environment | None:
        """Under self.lock: the most recently used idle environment of `key` that is alive."""
        stack = self.idle.get(key)
        while stack:
            candidate = stack.pop()  # most recently used: the rest can go idle and be reaped
            if candidate.alive:
                return candidate
            retired.append(candidate)
        return None

    def release(self, env: Environment) -> None:
        with self.lock:
            self.busy.discard(env)
            if env.alive and self.current_key.get(env.spec.family) == env.key:
                self.idle.setdefault(env.key, []).append(env)
                self.changed.notify_all()
                return
        env.stop()

    def retire(self, stale: "Callable[[Environment], bool]") -> int:
        """Stop the environments `stale` picks: idle ones now, busy ones when they finish."""
        with self.lock:
            gone = []
            for key, stack in list(self.idle.items()):
                gone += [env for env in stack if stale(env)]
                self.idle[key] = [env for env in stack if not stale(env)]
            for env in self.busy:
                if stale(env):
                    env.broken = True
        for env in gone:
            env.stop()
        return len(gone)

    def reap_idle(self, max_idle: float) -> int:
        cutoff = time.monotonic() - max_idle
        with self.lock:
            gone = []
            for key, stack in list(self.idle.items()):
                gone += [env for env in stack if env.last_used < cutoff or not env.alive]
                self.idle[key] = [env for env in stack if env.last_used >= cutoff and env.alive]
                if not self.idle[key]:
                    del self.idle[key]
        for env in gone:
            env.stop()
        return len(gone)

    def environments(self) -> list[Environment]:
        with self.lock:
            return [env for stack in self.idle.values() for env in stack] + list(self.busy)

    def shutdown(self) -> None:
        """Remove every container before the worker exits (background removals would die with it)."""
        envs = self.environments()
        threads = [threading.Thread(target=env.stop, kwargs={"wait": True}) for env in envs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        with self.lock:
            self.idle.clear()
            self.busy.clear()
