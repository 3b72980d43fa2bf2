"""The warm pool's bookkeeping, with stand-in environments (no Docker)."""
from __future__ import annotations

import time
from dataclasses import replace

from executor.pool import Pool
from executor.spec import EnvSpec

SPEC = EnvSpec(function_id=1, account_id="111111111111", function_name="f",
               function_arn="arn:aws:lambda:us-east-1:111111111111:function:f", version="$LATEST",
               package_type="Zip", runtime="python3.11", handler="a.b", image="img", code_dir="/code",
               memory_size=128, timeout=3, ephemeral_storage=512, region="us-east-1", revision="r1")


class FakeEnv:
    def __init__(self, spec: EnvSpec) -> None:
        self.spec, self.key = spec, spec.key
        self.alive = True
        self.credentials_last = True
        self.stopped = False
        self.last_used = time.monotonic()

    def usable(self) -> bool:
        return self.alive and self.credentials_last

    def stop(self) -> None:
        self.stopped = True
        self.alive = False


def pool_with(*envs: FakeEnv) -> Pool:
    pool = Pool("net", "127.0.0.1:1", None, "w", lambda *a: None)
    for env in envs:
        pool.idle.setdefault(env.key, []).append(env)
        pool.current_key[env.spec.family] = env.key
    return pool


def test_idle_environments_past_the_idle_timeout_are_stopped():
    old, fresh = FakeEnv(SPEC), FakeEnv(SPEC)
    old.last_used -= 700
    pool = pool_with(old, fresh)
    assert pool.reap_idle(600) == 1
    assert old.stopped and not fresh.stopped
    assert pool.idle[SPEC.key] == [fresh]


def test_a_warm_environment_of_the_same_spec_is_reused():
    env = FakeEnv(SPEC)
    pool = pool_with(env)
    got, cold = pool.acquire(SPEC)
    assert got is env and cold is False
    pool.release(got)
    assert pool.idle[SPEC.key] == [env]


def test_a_newer_spec_retires_the_older_environments(monkeypatch):
    class StartedFakeEnv(FakeEnv):
        def __init__(self, spec, *args) -> None:
            super().__init__(spec)

        def start(self) -> None:
            pass

    monkeypatch.setattr("executor.pool.Environment", StartedFakeEnv)
    idle_old, busy_old = FakeEnv(SPEC), FakeEnv(SPEC)
    pool = pool_with(idle_old)
    pool.busy.add(busy_old)
    newer = replace(SPEC, revision="r2")
    env, cold = pool.acquire(newer)
    assert cold is True and env.key == newer.key
    assert idle_old.stopped  # idle ones go at once
    assert not busy_old.stopped
    pool.release(busy_old)  # a busy one goes when it finishes
    assert busy_old.stopped
    pool.release(env)
    assert pool.idle == {newer.key: [env]}


def test_changing_reserved_concurrency_keeps_environments_warm():
    assert replace(SPEC, reserved_concurrency=5).key == SPEC.key
    assert replace(SPEC, memory_size=256).key != SPEC.key


def test_a_burst_waits_for_a_start_slot_and_takes_an_environment_freed_meanwhile(monkeypatch):
    import threading

    starts = []
    gate = threading.Event()

    class SlowStartEnv(FakeEnv):
        def __init__(self, spec, *args) -> None:
            super().__init__(spec)

        def start(self) -> None:
            starts.append(self)
            gate.wait(5)

    monkeypatch.setattr("executor.pool.Environment", SlowStartEnv)
    monkeypatch.setattr("executor.pool.MAX_PARALLEL_STARTS", 1)
    running = FakeEnv(SPEC)  # busy with an invocation
    pool = pool_with()
    pool.busy.add(running)
    pool.current_key[SPEC.family] = SPEC.key
    results: dict[str, tuple] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", pool.acquire(SPEC)))
    first.start()
    while not starts:
        time.sleep(0.01)
    second = threading.Thread(target=lambda: results.setdefault("second", pool.acquire(SPEC)))
    second.start()
    time.sleep(0.2)
    assert "second" not in results  # waiting: the only start slot is taken
    pool.release(running)  # an invocation ends while the start is still going on
    second.join(5)
    assert results["second"] == (running, False)
    gate.set()
    first.join(5)
    assert results["first"][1] is True and len(starts) == 1


# --- The host's memory budget ---------------------------------------------------------------

class StartedEnv(FakeEnv):
    def __init__(self, spec, *args) -> None:
        super().__init__(spec)

    def start(self) -> None:
        pass


def function_spec(name: str, memory: int) -> EnvSpec:
    return replace(SPEC, function_name=name, function_arn=SPEC.function_arn[:-1] + name, memory_size=memory)


def budget_pool(budget: int, *envs: FakeEnv) -> Pool:
    pool = pool_with(*envs)
    pool.memory_budget_mb = budget
    return pool


def test_a_start_over_the_memory_budget_stops_the_oldest_idle_environment_of_any_function(monkeypatch):
    monkeypatch.setattr("executor.pool.Environment", StartedEnv)
    oldest, newer = FakeEnv(function_spec("a", 256)), FakeEnv(function_spec("b", 256))
    oldest.last_used -= 10
    pool = budget_pool(512, newer, oldest)
    env, cold = pool.acquire(function_spec("c", 256))
    assert cold and oldest.stopped and not newer.stopped
    assert pool._memory_in_use() == 512


def test_a_start_is_refused_after_a_short_wait_when_busy_environments_hold_the_memory(monkeypatch):
    from executor.pool import MemoryBudgetExceeded

    monkeypatch.setattr("executor.pool.Environment", StartedEnv)
    monkeypatch.setattr("executor.pool.MEMORY_WAIT_LIMIT", 0.2)
    warm = FakeEnv(function_spec("warm", 128))
    pool = budget_pool(512, warm)
    pool.busy.add(FakeEnv(function_spec("busy", 256)))
    began = time.monotonic()
    try:
        pool.acquire(function_spec("big", 512))
        raise AssertionError("the start should not fit")
    except MemoryBudgetExceeded:
        pass
    assert 0.2 <= time.monotonic() - began < 2
    assert not warm.stopped  # stopping it could not have made room: it stays warm


def test_a_waiting_start_takes_the_memory_a_finishing_environment_frees(monkeypatch):
    import threading

    monkeypatch.setattr("executor.pool.Environment", StartedEnv)
    busy = FakeEnv(function_spec("busy", 512))
    pool = budget_pool(512)
    pool.busy.add(busy)
    pool.current_key[busy.spec.family] = busy.key
    results: list = []
    waiter = threading.Thread(target=lambda: results.append(pool.acquire(function_spec("next", 256))))
    waiter.start()
    time.sleep(0.2)
    assert not results
    pool.release(busy)  # goes idle, then is stopped to make room
    waiter.join(2)
    assert results and results[0][1] is True and busy.stopped


def test_an_environment_whose_credentials_would_not_last_is_not_reused(monkeypatch):
    class StartedFakeEnv(FakeEnv):
        def __init__(self, spec, *args) -> None:
            super().__init__(spec)

        def start(self) -> None:
            pass

    monkeypatch.setattr("executor.pool.Environment", StartedFakeEnv)
    expiring, idle_expiring = FakeEnv(SPEC), FakeEnv(SPEC)
    expiring.credentials_last = idle_expiring.credentials_last = False
    pool = pool_with(expiring)
    env, cold = pool.acquire(SPEC)
    assert cold is True and env is not expiring and expiring.stopped
    pool.release(env)
    pool.idle[SPEC.key].insert(0, idle_expiring)
    assert pool.reap_idle(600) == 1 and idle_expiring.stopped  # housekeeping retires it too
