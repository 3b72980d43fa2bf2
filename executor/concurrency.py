"""Concurrency caps shared by every worker, as leases in Redis: per function and per account.

A lease is a member of a sorted set scored by its expiry, so a worker that dies holding
one frees it when the lease runs out; a live worker removes it when the invocation ends.
"""
from __future__ import annotations

import threading
import time

import redis
from django.conf import settings

from . import redis_client

# KEYS: the function's leases, the leases of its account's unreserved functions, the holders.
# ARGV: now, lease expiry, request id, the function's reservation (-1: none), the account's
# unreserved pool, who holds the lease (see `holder`). A reserved function draws only on its reservation (its leases stay out of
# the account's set); the others share the pool, as on AWS.
ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = tonumber(ARGV[4])
if reserved >= 0 then
  if redis.call('ZCARD', KEYS[1]) >= reserved then return 1 end
else
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
return 0
"""

FUNCTION_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"

# request id -> the lease's holder: a dead worker's leases are freed, and its synchronous
# callers answered, by the others once its heartbeat has lapsed (executor/reaper.py).
HOLDERS_KEY = "lambda:concurrency:holders"

_script = None
_lock = threading.Lock()


def _acquire_script() -> redis.commands.core.Script:
    global _script
    with _lock:
        if _script is None:
            _script = redis_client.client().register_script(ACQUIRE)
        return _script


class Throttled(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.")
        self.reason = reason


def _keys(account_id: str, function_arn: str) -> list[str]:
    return [f"lambda:concurrency:fn:{function_arn}", f"lambda:concurrency:acct:{account_id}"]


def holder(worker_id: str, account_id: str, function_arn: str, sync: bool) -> str:
    return " ".join((worker_id or "-", account_id, function_arn, "sync" if sync else "event"))


def parse_holder(text: str) -> tuple[str, str, str, bool]:
    worker_id, account_id, function_arn, kind = text.split(" ")
    return worker_id, account_id, function_arn, kind == "sync"


def acquire(account_id: str, function_arn: str, request_id: str, reserved: int | None, account_reserved: int,
            lease_seconds: float, held_by: str = "") -> None:
    """Take a slot for this invocation or raise Throttled with AWS's reason.

    Each account may run LAMBDA_ACCOUNT_CONCURRENCY invocations at once, whatever the others
    run; `account_reserved` (what its functions reserve) is taken from that for the rest.
    """
    now = time.time()
    pool = max(0, settings.LAMBDA_ACCOUNT_CONCURRENCY - account_reserved)
    result = _acquire_script()(keys=[*_keys(account_id, function_arn), HOLDERS_KEY], args=[
        now, now + lease_seconds, request_id, -1 if reserved is None else reserved, pool,
        held_by or holder("", account_id, function_arn, False),
    ])
    if result == 1:
        raise Throttled(FUNCTION_LIMIT)
    if result == 2:
        raise Throttled(ACCOUNT_LIMIT)


def release(account_id: str, function_arn: str, request_id: str,
            pipe: redis.client.Pipeline | None = None) -> None:
    """Free the slot; given a pipeline, only queue the commands on it."""
    fn_key, account_key = _keys(account_id, function_arn)
    own = pipe is None
    pipe = redis_client.client().pipeline(transaction=False) if own else pipe
    pipe.zrem(fn_key, request_id)
    pipe.zrem(account_key, request_id)  # absent for a reserved function: harmless
    pipe.hdel(HOLDERS_KEY, request_id)
    if own:
        pipe.execute()
