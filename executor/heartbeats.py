"""Which workers are alive: each refreshes a key in Redis while it runs.

What a dead worker leaves behind (its running events, its containers) is put back or removed
by the others once its key has expired (executor/reaper.py, executor/node.py).
"""
from __future__ import annotations

from . import redis_client

PREFIX = "lambda:worker:"


def beat(worker_id: str, ttl: int) -> None:
    redis_client.client().set(PREFIX + worker_id, "1", ex=ttl)


def forget(worker_id: str) -> None:
    """A stopping worker's key goes at once: the others need not wait for it to expire."""
    redis_client.client().delete(PREFIX + worker_id)


def worker_alive(worker_id: str) -> bool:
    return bool(redis_client.client().exists(PREFIX + worker_id))
