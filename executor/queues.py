"""The messages between callers and workers: the queues and tasks an invocation is sent to,
and the Redis list each synchronous caller waits on for its answer.

Senders name the tasks (Celery's `send_task`) instead of importing them, so what sends an
invocation (`invoke`, the reaper, an event's own retries) never imports what runs one.
"""
from __future__ import annotations

import json

from celery import current_app

from . import redis_client
from .result import InvokeResult, encode_payload

SYNC_QUEUE = "lambda.sync"  # consumed without acknowledgements: a caller whose worker died gives up by itself
ASYNC_QUEUE = "lambda.async"  # acknowledged late: an event outlives the worker that took it
SYNC_TASK = "executor.tasks.invoke_sync"
ASYNC_TASK = "executor.tasks.invoke_async"
REAP_TASK = "executor.tasks.reap"
REPLY_TTL = 120  # seconds a synchronous answer waits for its caller


class NoAnswer(Exception):
    """No worker answered a synchronous invocation in time."""


class WorkerFailed(Exception):
    """The worker could not run the invocation; `message` says why, for the caller ("" when unknown)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reply_key(request_id: str) -> str:
    return f"lambda:reply:{request_id}"


def send_sync(sealed_spec: str, request_id: str, payload: bytes, source: str, qualifier: str) -> None:
    current_app.send_task(SYNC_TASK, (sealed_spec, request_id, encode_payload(payload), source, qualifier),
                          queue=SYNC_QUEUE, ignore_result=True)


def send_event(request_id: str, delay: float = 0.0) -> None:
    """A message telling a worker to run (or retry) the queued event `request_id`, `delay` seconds from now."""
    current_app.send_task(ASYNC_TASK, (str(request_id),), queue=ASYNC_QUEUE, ignore_result=True,
                          countdown=delay or None)


def push_answer(pipe, result: InvokeResult) -> None:
    """Add a synchronous invocation's answer to a Redis pipeline (the caller of `wait_answer` takes it)."""
    _push(pipe, result.request_id, {"result": result.to_wire()})


def push_failure(request_id: str, message: str = "") -> None:
    """Tell a synchronous caller at once that its invocation could not run here."""
    pipe = redis_client.client().pipeline(transaction=False)
    _push(pipe, request_id, {"error": message})
    pipe.execute()


def _push(pipe, request_id: str, answer: dict) -> None:
    key = reply_key(request_id)
    pipe.rpush(key, json.dumps(answer))
    pipe.expire(key, REPLY_TTL)


def wait_answer(request_id: str, timeout: float) -> InvokeResult:
    """The worker's answer; NoAnswer after `timeout` seconds, WorkerFailed when it could not run it."""
    reply = redis_client.client().blpop([reply_key(request_id)], timeout=timeout)
    if reply is None:
        raise NoAnswer(request_id)
    answer = json.loads(reply[1])
    if "error" in answer:
        raise WorkerFailed(answer["error"])
    return InvokeResult.from_wire(answer["result"])
