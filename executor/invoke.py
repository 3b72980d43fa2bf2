"""The one way to run a function: the console, the API and the triggers all call `invoke`."""
from __future__ import annotations

import base64
import json
import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from console.errors import (InvalidParameterValue, InvalidRequestContent, RequestTooLarge, ResourceConflict,
                            ServiceError, TooManyRequests)
from console.limits import ASYNC_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT
from console.models import Function, Invocation, State

from . import concurrency, queues
from .environment import INIT_TIMEOUT
from .result import InvokeResult
from .spec_builder import spec_for

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")

log = logging.getLogger(__name__)


def invoke(function: Function, payload: bytes | str | dict = b"", invocation_type: str = "RequestResponse",
           log_type: str | None = None, qualifier: str | None = None, source: str = "api",
           chain_depth: int = 0) -> InvokeResult:
    """Invoke a function as AWS Lambda's Invoke does; raise a LambdaError on bad input or throttling.

    `payload`: the event as JSON text (bytes or str, checked here), or as a dict its caller
    built (a trigger, a destination). `chain_depth`: for an event sent by a destination, how
    many times this function already ran in the chain that led here (executor/recursion.py
    stops a loop on it).
    """
    if invocation_type not in INVOCATION_TYPES:
        raise InvalidParameterValue(f"Unsupported InvocationType: {invocation_type}", field="InvocationType")
    if log_type not in (None, "None", "Tail"):
        raise InvalidParameterValue(f"Unsupported LogType: {log_type}", field="LogType")
    data = _event_bytes(payload)
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(data) > limit:
        raise RequestTooLarge(
            f"{len(data)} byte payload is too large for the {invocation_type} invocation type (limit {limit} bytes)")
    if not isinstance(payload, dict):
        data = _checked_json(data)
    if function.state != State.ACTIVE:
        raise ResourceConflict(
            "The operation cannot be performed at this time. The function is currently in the following "
            f"state: {function.state}")
    spec = spec_for(function, qualifier)
    # What the caller named, "" for nothing: the runtime sees the unqualified ARN then, as on AWS.
    qualifier = qualifier or ""
    request_id = str(uuid.uuid4())
    if invocation_type == "DryRun":
        return InvokeResult(request_id, status_code=204, executed_version=spec.version)
    if invocation_type == "Event":
        _check_queue(function, request_id, qualifier, spec.version, source, len(data), spec.memory_size)
        try:
            Invocation.objects.create(
                request_id=request_id, function=function, qualifier=qualifier, version=spec.version,
                invocation_type=Invocation.Type.EVENT, source=source, status=Invocation.Status.QUEUED,
                payload=data.decode(), payload_size=len(data), memory_size=spec.memory_size, due=timezone.now(),
                chain_depth=chain_depth)
        except DatabaseError as exc:
            # The event is not accepted unless its row is written (the row is what runs it): the
            # caller hears so now, in AWS's words for a fault of the service, and may send it again.
            log.error("event %s for %s not queued: %s", request_id, function.arn, exc)
            raise ServiceError("The event could not be queued: the service's database is unavailable. Try again.")
        transaction.on_commit(lambda: _send_event(request_id))
        return InvokeResult(request_id, Invocation.Status.QUEUED, status_code=202, executed_version=spec.version)
    if spec.reserved_concurrency == 0:
        # Nothing can ever run: answer at once, as AWS does, without a trip to a worker,
        # but count it, so the Monitor tab shows the throttle.
        Invocation.objects.create(
            request_id=request_id, function=function, qualifier=qualifier, version=spec.version, source=source,
            status=Invocation.Status.THROTTLED, error_type=concurrency.FUNCTION_LIMIT,
            payload_size=len(data), memory_size=spec.memory_size)
        raise TooManyRequests("Rate Exceeded.", Reason=concurrency.FUNCTION_LIMIT)
    queues.send_sync(spec.sealed(), request_id, data, source, qualifier)
    try:
        result = queues.wait_answer(request_id, timeout=spec.timeout + INIT_TIMEOUT + 30)
    except queues.NoAnswer:
        raise ServiceError("The invocation did not finish: no worker answered in time.")
    except queues.WorkerFailed as exc:
        raise ServiceError(exc.message or "The invocation failed on the worker; see the worker's log.")
    if result.status == Invocation.Status.THROTTLED:
        raise TooManyRequests("Rate Exceeded.", Reason=result.throttle_reason)
    if log_type == "Tail":
        result.log_result = base64.b64encode(result.log_tail.encode()).decode()
    return result


def _send_event(request_id: str) -> None:
    """Send an accepted event's message; if Redis refuses it, the reaper sends it later.

    The committed row is what makes the event accepted: the caller is told 202 either way,
    since an error would have it send the event again while this one still runs.
    """
    try:
        queues.send_event(request_id)
    except Exception as exc:  # Redis down or restarting
        log.warning("event %s accepted, its message not sent (%s): the reaper will send it", request_id, exc)


def _event_bytes(payload: bytes | str | dict) -> bytes:
    if isinstance(payload, dict):
        return json.dumps(payload).encode()
    return payload.encode() if isinstance(payload, str) else (payload or b"")


def _checked_json(data: bytes) -> bytes:
    """The event a caller sent as text, if it is JSON; an empty one is {}."""
    if not data.strip():
        return b"{}"
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestContent("Could not parse request body into json: payload is not valid JSON")
    return data


# No reason in AWS's ThrottleReason names a full event queue; this is the nearest: more
# events are arriving for the function than it is allowed to take.
QUEUE_FULL = "FunctionInvocationRateLimitExceeded"


def _check_queue(function: Function, request_id: str, qualifier: str, version: str, source: str,
                 payload_size: int, memory_size: int) -> None:
    """Refuse an event when the function already has its maximum of events waiting.

    AWS answers an event it cannot add to the function's queue with an error (429 when
    throttled) instead of accepting it (docs.aws.amazon.com/lambda/latest/dg/invocation-async.html:
    "If Lambda is not able to add the event to the queue, the error message appears in the
    command output"); the refusal is counted as a throttle, as the Monitor tab shows it.
    The count is one query on the status index; concurrent callers may pass the bound by a
    few events, which is all a bound on memory needs.
    """
    limit = settings.LAMBDA_MAX_QUEUED_EVENTS_PER_FUNCTION
    if Invocation.objects.filter(function=function, status=Invocation.Status.QUEUED).count() < limit:
        return
    Invocation.objects.create(
        request_id=request_id, function=function, qualifier=qualifier, version=version,
        invocation_type=Invocation.Type.EVENT, source=source, status=Invocation.Status.THROTTLED,
        error_type=QUEUE_FULL, payload_size=payload_size, memory_size=memory_size, finished=timezone.now())
    raise TooManyRequests(
        f"Rate Exceeded. The function {function.name} already has {limit} asynchronous events waiting "
        "to run; try again later.", Reason=QUEUE_FULL)
