"""Concurrency caps shared by every worker, as leases in Redis.

A lease is a member of a sorted set scored by its expiry, so a worker that dies holding
one frees it when the lease runs out; a live worker removes it when the invocation ends.
"""
from __future__ import annotations

import threading
import time

import redis
from django.conf import settings

ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = tonumber(ARGV[4])
if reserved >= 0 and redis.call('ZCARD', KEYS[1]) >= reserved then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 0
"""

FUNCTION_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"

_redis: redis.Redis | None = None
_script = None
_lock = threading.Lock()


def connection() -> redis.Redis:
    global _redis, _script
    with _lock:
        if _redis is None:
            _redis = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
            _script = _redis.register_script(ACQUIRE)
        return _redis


class Throttled(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.")
        self.reason = reason


def _keys(function_arn: str) -> list[str]:
    return [f"lambda:concurrency:fn:{function_arn}", "lambda:concurrency:all"]


def acquire(function_arn: str, request_id: str, reserved: int | None, lease_seconds: float) -> None:
    """Take a slot for this invocation or raise Throttled with AWS's reason."""
    connection()
    now = time.time()
    result = _script(keys=_keys(function_arn), args=[
        now, now + lease_seconds, request_id, -1 if reserved is None else reserved,
        settings.LAMBDA_ACCOUNT_CONCURRENCY,
    ])
    if result == 1:
        raise Throttled(FUNCTION_LIMIT)
    if result == 2:
        raise Throttled(ACCOUNT_LIMIT)


def release(function_arn: str, request_id: str, pipe: redis.client.Pipeline | None = None) -> None:
    """Free the slot; given a pipeline, only queue the commands on it."""
    fn_key, all_key = _keys(function_arn)
    own = pipe is None
    pipe = connection().pipeline(transaction=False) if own else pipe
    pipe.zrem(fn_key, request_id)
    pipe.zrem(all_key, request_id)
    if own:
        pipe.execute()
