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

from django.conf import settings

from .environment import Environment, LineSink
from .sandbox import DockerSandboxes
from .spec import EnvSpec

log = logging.getLogger(__name__)

MAX_PARALLEL_STARTS = 4
START_WAIT_LIMIT = 10.0  # seconds an invocation waits for a start slot before starting anyway
MEMORY_WAIT_LIMIT = 2.0  # seconds a start over the memory budget waits for room before it is throttled
DEFAULT_MEMORY_SHARE = 0.75  # of the host's RAM, when LAMBDA_HOST_MEMORY_MB is not set
FALLBACK_MEMORY_MB = 4096  # when the host's RAM cannot be read


class MemoryBudgetExceeded(Exception):
    """No room for another environment: every environment that holds memory is busy."""


def host_memory_budget_mb() -> int:
    """LAMBDA_HOST_MEMORY_MB, or three quarters of this host's RAM (the worker runs beside its engine)."""
    if settings.LAMBDA_HOST_MEMORY_MB:
        return settings.LAMBDA_HOST_MEMORY_MB
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(int(line.split()[1]) / 1024 * DEFAULT_MEMORY_SHARE)
    except (OSError, ValueError):
        pass
    return FALLBACK_MEMORY_MB


class Pool:
    def __init__(self, network: str, runtime_api: str, registry, worker: str, sink: LineSink,
                 memory_budget_mb: int | None = None) -> None:
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
        # Environments may hold up to their memory size each (their cgroup's limit): the sum of
        # those of idle, busy and starting ones stays within this budget.
        self.memory_budget_mb = memory_budget_mb or host_memory_budget_mb()
        self.starting_mb = 0
        self.closed = False  # the worker is stopping: every environment handed out is interrupted

    def acquire(self, spec: EnvSpec) -> tuple[Environment, bool]:
        """An environment for this spec, marked busy; True when it is new (a cold start).

        At most MAX_PARALLEL_STARTS containers start at once: the engine starts them one
        after another anyway, and a burst of invocations that waits for a start slot is
        often served sooner by an environment that finishes its invocation meanwhile.
        A start that would pass the memory budget first stops idle environments, oldest
        first; if busy ones hold the memory, it waits a moment for room, then gives up
        with MemoryBudgetExceeded.
        """
        retired: list[Environment] = []
        env = None
        over_budget = False
        give_up_waiting = time.monotonic() + START_WAIT_LIMIT
        give_up_on_memory: float | None = None
        with self.lock:
            old_key = self.current_key.get(spec.family)
            if old_key != spec.key:
                self.current_key[spec.family] = spec.key
                if old_key is not None:
                    retired = self.idle.pop(old_key, [])
            while True:
                env = self._take_idle(spec.key, retired)
                if env is not None:
                    break
                now = time.monotonic()
                if self.starting < MAX_PARALLEL_STARTS or now >= give_up_waiting:
                    if self._make_room(spec.memory_size, retired):
                        break
                    give_up_on_memory = give_up_on_memory or now + MEMORY_WAIT_LIMIT
                    if now >= give_up_on_memory:
                        over_budget = True
                        break
                    self.changed.wait(give_up_on_memory - now)
                else:
                    self.changed.wait(give_up_waiting - now)
            if env is not None:
                self.busy.add(env)
                interrupt = self.closed
            elif not over_budget:
                self.starting += 1
                self.starting_mb += spec.memory_size
        for old in retired:
            old.stop()
        if over_budget:
            raise MemoryBudgetExceeded(f"{spec.memory_size} MB do not fit in {self.memory_budget_mb} MB")
        if env is not None:
            if interrupt:
                env.interrupt()
            return env, False
        env = Environment(spec, self.registry, self.sink, DockerSandboxes(self.network, self.runtime_api, self.worker))
        started = False
        try:
            env.start()
            started = True
        finally:
            with self.lock:
                self.starting -= 1
                self.starting_mb -= spec.memory_size
                if started:
                    self.busy.add(env)
                interrupt = self.closed
                self.changed.notify_all()
            if not started:
                env.stop()
        if interrupt:  # the worker began to stop during the start: its invocation ends at once
            env.interrupt()
        return env, True

    def _memory_in_use(self) -> int:
        """Under self.lock: MB the environments of this worker may hold, idle, busy or starting."""
        idle = sum(env.spec.memory_size for stack in self.idle.values() for env in stack)
        return idle + sum(env.spec.memory_size for env in self.busy) + self.starting_mb

    def _make_room(self, memory_mb: int, evicted: list[Environment]) -> bool:
        """Under self.lock: True if `memory_mb` more fits in the budget, once idle environments
        (oldest first, any function's) are moved to `evicted`; none are if that could not do."""
        need = self._memory_in_use() + memory_mb - self.memory_budget_mb
        if need <= 0:
            return True
        idle = sorted((env for stack in self.idle.values() for env in stack),
                      key=lambda env: (env.alive, env.last_used))  # dead ones first, then the oldest
        if sum(env.spec.memory_size for env in idle) < need:
            return False  # busy ones hold the memory: keep the warm ones while waiting
        count = 0
        for env in idle:
            if need <= 0:
                break
            self.idle[env.key].remove(env)
            if not self.idle[env.key]:
                del self.idle[env.key]
            evicted.append(env)
            need -= env.spec.memory_size
            count += 1
        log.info("memory budget: stopping %d idle environment(s) for a %d MB start", count, memory_mb)
        return True

    def _take_idle(self, key: str, retired: list[Environment]) -> Environment | None:
        """Under self.lock: the most recently used idle environment of `key` that is alive
        (and whose credentials last the invocation, when its runtime cannot take new ones)."""
        stack = self.idle.get(key)
        while stack:
            candidate = stack.pop()  # most recently used: the rest can go idle and be reaped
            if candidate.usable():
                return candidate
            retired.append(candidate)
        return None

    def release(self, env: Environment) -> None:
        with self.lock:
            self.busy.discard(env)
            self.changed.notify_all()  # either an idle environment or free memory for a waiting start
            if env.alive and self.current_key.get(env.spec.family) == env.key:
                self.idle.setdefault(env.key, []).append(env)
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
                    env.retire()
            if gone:
                self.changed.notify_all()  # their memory is free for a waiting start
        for env in gone:
            env.stop()
        return len(gone)

    def reap_idle(self, max_idle: float) -> int:
        cutoff = time.monotonic() - max_idle
        with self.lock:
            gone = []
            for key, stack in list(self.idle.items()):
                gone += [env for env in stack if env.last_used < cutoff or not env.usable()]
                self.idle[key] = [env for env in stack if env.last_used >= cutoff and env.usable()]
                if not self.idle[key]:
                    del self.idle[key]
            if gone:
                self.changed.notify_all()  # their memory is free for a waiting start
        for env in gone:
            env.stop()
        return len(gone)

    def busy_count(self) -> int:
        with self.lock:
            return len(self.busy) + self.starting

    def quiet(self) -> bool:
        """No invocation running and no environment starting."""
        return self.busy_count() == 0

    def interrupt(self) -> int:
        """The worker is stopping: end every running invocation now (their tasks put them back),
        and every one handed out from here on; the containers are removed before this returns."""
        with self.lock:
            self.closed = True
            busy = list(self.busy)
        threads = [threading.Thread(target=env.interrupt, kwargs={"wait": True}) for env in busy]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return len(busy)

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
