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
        self.stopped = False
        self.last_used = time.monotonic()

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
