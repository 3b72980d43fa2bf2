"""Live events for the browser, sent through the Channels layer.

`publish_log_line` is the one function the executor calls. It never blocks an invocation:
lines go to a queue that one background thread drains in order, batching whatever has
piled up into a single group message.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_queue: "queue.SimpleQueue[tuple[str, dict]]" = queue.SimpleQueue()
_started = False
_start_lock = threading.Lock()
MAX_BATCH = 200
LISTENER_CHECK = 0.25  # seconds: a viewer that just opened waits at most this long


def log_group(account_id: str, function_name: str) -> str:
    """The Channels group of one function's live log."""
    return f"logs.{account_id}.{function_name}"


def publish_log_line(account_id: str, function_name: str, line: dict) -> None:
    """Queue one log line ({request_id, log_stream, timestamp, message}) for the live viewers."""
    _ensure_started()
    _queue.put((log_group(account_id, function_name), line))


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
        group, line = _queue.get()
        batches: dict[str, list[dict]] = {group: [line]}
        count = 1
        while count < MAX_BATCH:
            try:
                group, line = _queue.get_nowait()
            except queue.Empty:
                break
            batches.setdefault(group, []).append(line)
            count += 1
        for name, lines in batches.items():
            if not listeners.any(name):
                continue
            try:
                loop.run_until_complete(layer.group_send(name, {"type": "log.lines", "lines": lines}))
            except Exception:  # a Redis hiccup must not stop the publisher
                log.exception("could not publish %d log lines to %s", len(lines), name)
