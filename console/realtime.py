"""Live events for the browser, sent through the Channels layer.

`publish_log_line` is the one function the executor calls. It never blocks an invocation:
lines go to a queue that one background thread drains in order, batching whatever has
piled up into a single group message. The queue is bounded (lines and bytes): when the
channel layer cannot keep up, further lines are dropped, and the live view of each
function that lost some gets one line saying how many.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_started = False
_start_lock = threading.Lock()
MAX_BATCH = 200
LISTENER_CHECK = 0.25  # seconds: a viewer that just opened waits at most this long
MAX_QUEUED_LINES = 10_000
MAX_QUEUED_BYTES = 16 * 1024 * 1024  # a line may be up to 256 KB


class LineQueue:
    """A FIFO of (group, line) bounded in lines and bytes, that drops and counts beyond."""

    def __init__(self, max_lines: int = MAX_QUEUED_LINES, max_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.items: deque[tuple[str, dict, int]] = deque()
        self.bytes = 0
        self.dropped: dict[str, int] = {}
        self.ready = threading.Condition()

    def put(self, group: str, line: dict) -> bool:
        size = len(line.get("message") or "") + 100
        with self.ready:
            if len(self.items) >= self.max_lines or self.bytes + size > self.max_bytes:
                self.dropped[group] = self.dropped.get(group, 0) + 1
                return False
            self.items.append((group, line, size))
            self.bytes += size
            if len(self.items) == 1:
                self.ready.notify()
            return True

    def take(self, limit: int, timeout: float | None = None) -> tuple[list[tuple[str, dict]], dict[str, int]]:
        """Up to `limit` lines in order, and the count of lines dropped per group since the last take."""
        with self.ready:
            if not self.items and not self.dropped:
                self.ready.wait(timeout)
            batch = []
            while self.items and len(batch) < limit:
                group, line, size = self.items.popleft()
                self.bytes -= size
                batch.append((group, line))
            dropped, self.dropped = self.dropped, {}
            return batch, dropped


_queue = LineQueue()


def drop_notice(count: int) -> dict:
    """The line a live view gets in place of `count` lines it lost."""
    return {"request_id": "", "log_stream": "", "timestamp": int(time.time() * 1000),
            "message": f"[lambda] {count} log lines dropped from the live view: output faster than it can be sent"}


def log_group(account_id: str, function_name: str) -> str:
    """The Channels group of one function's live log."""
    return f"logs.{account_id}.{function_name}"


def publish_log_line(account_id: str, function_name: str, line: dict) -> None:
    """Queue one log line ({request_id, log_stream, timestamp, message}) for the live viewers."""
    _ensure_started()
    _queue.put(log_group(account_id, function_name), line)


def _ensure_started() -> None:
    global _started
    if _started:
        return
    with _start_lock:
        if not _started:
            threading.Thread(target=_run, daemon=True, name="realtime-publisher").start()
            _started = True


class _Listeners:
    """Whether a group has anyone in it, looked up at most every LISTENER_CHECK seconds.

    Most functions run with nobody watching their log; skipping the send for an empty
    group saves the channel layer's round trips on every invocation.
    """

    def __init__(self, layer) -> None:
        self.layer = layer
        self.seen: dict[str, tuple[float, bool]] = {}
        key_of = getattr(layer, "_group_key", None)
        hosts = getattr(layer, "hosts", None)
        self.redis = None
        if key_of is not None and hosts and len(hosts) == 1 and "address" in hosts[0]:
            import redis

            self.redis = redis.Redis.from_url(hosts[0]["address"])
            self.key_of = key_of

    def any(self, group: str) -> bool:
        if self.redis is None:
            return True  # unknown layer: always send
        now = time.monotonic()
        checked = self.seen.get(group)
        if checked and now - checked[0] < LISTENER_CHECK:
            return checked[1]
        try:
            present = bool(self.redis.exists(self.key_of(group)))
        except Exception:
            present = True
        self.seen[group] = (now, present)
        return present


def _run() -> None:
    loop = asyncio.new_event_loop()
    layer = get_channel_layer()
    listeners = _Listeners(layer)
    while True:
        batch, dropped = _queue.take(MAX_BATCH)
        batches: dict[str, list[dict]] = {}
        for group, line in batch:
            batches.setdefault(group, []).append(line)
        for group, count in dropped.items():
            batches.setdefault(group, []).append(drop_notice(count))
        for name, lines in batches.items():
            if not listeners.any(name):
                continue
            try:
                loop.run_until_complete(layer.group_send(name, {"type": "log.lines", "lines": lines}))
            except Exception:  # a Redis hiccup must not stop the publisher
                log.exception("could not publish %d log lines to %s", len(lines), name)
