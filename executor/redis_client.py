"""The process's one Redis client: leases, sync replies, heartbeats, the recorder's queue.

Shared by every thread of the process (redis-py's pool is thread-safe) and made on first use,
so importing this module touches no network.
"""
from __future__ import annotations

import threading

import redis
from django.conf import settings

_client: redis.Redis | None = None
_lock = threading.Lock()


def client() -> redis.Redis:
    global _client
    with _lock:
        if _client is None:
            _client = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        return _client
