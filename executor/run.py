"""Running one invocation on this worker, and recording what happened.

`execute` is the whole life of an invocation here: take a concurrency slot, take a warm
environment or start one, run, give both back, then (in one round trip to Redis) free the
slot, answer a waiting caller and queue the record for the recorder process.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from console.models import Invocation, LogEvent

from . import concurrency, logs, queues, recorder, redis_client
from .attempt import Outcome
from .environment import INIT_TIMEOUT, EnvironmentFailed
from .node import WorkerStopping, get_node
from .pool import MemoryBudgetExceeded
from .result import InvokeResult
from .spec import EnvSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncContext:
    """What a synchronous invocation's record needs besides its outcome."""

    started: dt.datetime
    source: str
    qualifier: str
    payload_size: int


def execute(spec: EnvSpec, request_id: str, payload: bytes,
            sync: SyncContext | None = None, qualifier: str = "") -> tuple[InvokeResult, Outcome | None]:
    """Run one invocation here. For a synchronous one, the answer and the record go out in
    the same round trip to Redis that frees the concurrency slot. `qualifier`: the version
    or alias the caller named ("" for none), a synchronous call's is in `sync`.

    Raises WorkerStopping, with nothing answered or recorded, when this worker is stopping:
    before the invocation started, or when it was cut short past the stop's grace period."""
    node = get_node()
    if node.stopping.is_set():
        raise WorkerStopping(f"invocation {request_id} not started: the worker is stopping")
    lease = spec.timeout + INIT_TIMEOUT + 30
    try:
        concurrency.acquire(spec.account_id, spec.function_arn, request_id, spec.reserved_concurrency,
                            spec.account_reserved, lease,
                            concurrency.holder(node.worker_id, spec.account_id, spec.function_arn, sync is not None))
    except concurrency.Throttled as exc:
        result = _throttled(spec, request_id, exc.reason)
        _finish(spec, request_id, result, None, sync, leased=False)
        return result, None
    result: InvokeResult | None = None
    outcome: Outcome | None = None
    try:
        try:
            env, _cold = node.pool.acquire(spec)
        except EnvironmentFailed as exc:
            result = _start_failure(spec, request_id, str(exc))
        except MemoryBudgetExceeded:
            # The host is full of busy environments: AWS's account-level reason is the closest
            # (callers and SDKs know it); the worker's log says which budget it was.
            log.warning("host memory budget full: %s (%d MB) throttled", spec.function_arn, spec.memory_size)
            result = _throttled(spec, request_id, concurrency.ACCOUNT_LIMIT)
        else:
            try:
                outcome = env.invoke(request_id, payload, spec.invoked_arn(sync.qualifier if sync else qualifier))
            finally:
                node.pool.release(env)
            if not outcome.interrupted:
                result = _ran(spec, request_id, outcome)
    finally:
        _finish(spec, request_id, result, outcome, sync, leased=True)
    if result is None:
        raise WorkerStopping(f"invocation {request_id} interrupted: the worker is stopping")
    return result, outcome


def _finish(spec: EnvSpec, request_id: str, result: InvokeResult | None, outcome: Outcome | None,
            sync: SyncContext | None, leased: bool) -> None:
    """Free the slot, answer the caller and queue the record, in one round trip to Redis."""
    pipe = redis_client.client().pipeline(transaction=False)
    if leased:
        concurrency.release(spec.account_id, spec.function_arn, request_id, pipe)
    if sync is not None and result is not None:
        queues.push_answer(pipe, result)
        pipe.rpush(recorder.RECORDS_KEY, sync_record(spec, result, outcome, sync))
    pipe.execute()


def _throttled(spec: EnvSpec, request_id: str, reason: str) -> InvokeResult:
    return InvokeResult(request_id, Invocation.Status.THROTTLED, throttle_reason=reason,
                        executed_version=spec.version, memory_size=spec.memory_size)


def _ran(spec: EnvSpec, request_id: str, outcome: Outcome) -> InvokeResult:
    return InvokeResult(
        request_id=request_id,
        status=Invocation.Status.SUCCEEDED if outcome.ok else Invocation.Status.FAILED,
        payload=outcome.payload,
        function_error=outcome.function_error,
        error_type=outcome.error_type,
        executed_version=spec.version,
        duration_ms=round(outcome.duration_ms, 2),
        billed_duration_ms=outcome.billed_ms,
        init_duration_ms=round(outcome.init_duration_ms, 2) if outcome.init_duration_ms is not None else None,
        max_memory_used_mb=outcome.max_memory_mb,
        memory_size=spec.memory_size,
        log_stream_name=outcome.log_stream_name,
        log_tail=logs.tail([message for _, message in outcome.lines]),
    )


def _start_failure(spec: EnvSpec, request_id: str, reason: str) -> InvokeResult:
    log.warning("cannot start an environment for %s: %s", spec.function_arn, reason)
    body = {"errorType": "Runtime.Unknown", "errorMessage": f"RequestId: {request_id} Error: {reason}"}
    return InvokeResult(request_id, Invocation.Status.FAILED, payload=json.dumps(body).encode(),
                        function_error="Unhandled", error_type="Runtime.Unknown", executed_version=spec.version,
                        memory_size=spec.memory_size)


def log_events(spec: EnvSpec, request_id: str, outcome: Outcome | None) -> list[LogEvent]:
    if outcome is None:
        return []
    return [
        LogEvent(function_id=spec.function_id, request_id=request_id, log_stream_name=outcome.log_stream_name,
                 timestamp=dt.datetime.fromtimestamp(stamp / 1000, tz=dt.timezone.utc), sequence=index,
                 message=message)
        for index, (stamp, message) in enumerate(outcome.lines)
    ]


def sync_record(spec: EnvSpec, result: InvokeResult, outcome: Outcome | None, sync: SyncContext) -> str:
    """A synchronous invocation's row and log lines, as the recorder process takes them."""
    row = dict(function_id=spec.function_id, qualifier=sync.qualifier, source=sync.source, attempts=1,
               invocation_type=Invocation.Type.REQUEST_RESPONSE, payload_size=sync.payload_size,
               started=sync.started.isoformat(), finished=timezone.now().isoformat())
    return recorder.encode(result, row, outcome.lines if outcome else [])


def record_async(spec: EnvSpec, result: InvokeResult, outcome: Outcome | None, **extra: object) -> None:
    """Write an asynchronous attempt's result now: its row drives what happens next."""
    fields = {**result.row_fields(), "finished": timezone.now(), **extra}
    with transaction.atomic():
        Invocation.objects.filter(request_id=fields.pop("request_id")).update(**fields)
        LogEvent.objects.bulk_create(log_events(spec, result.request_id, outcome))
