"""Asynchronous events: their retries, their maximum age, and where they go when done.

AWS's rules: a function error is retried up to the configured number of times (0-2,
default 2); an event older than its maximum age (60 s to 6 h) is not run again; a
finished event's invocation record goes to the on-success or on-failure destination.
An event that fails with no failure destination is kept as dead-lettered, never dropped.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from console.arns import LATEST, qualified
from console.limits import DEFAULT_MAX_AGE, DEFAULT_RETRIES
from console.models import EventInvokeConfig, Invocation
from console.services.async_config import destination_function

from . import recursion
from .invoke import invoke

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventPolicy:
    maximum_retry_attempts: int = DEFAULT_RETRIES
    maximum_event_age: int = DEFAULT_MAX_AGE
    on_success: str = ""
    on_failure: str = ""


def policy_for(invocation: Invocation) -> EventPolicy:
    """The configuration of the qualifier invoked, else the function's unqualified one."""
    configs = {c.qualifier: c for c in EventInvokeConfig.objects.filter(function_id=invocation.function_id)}
    config = configs.get(invocation.qualifier) or configs.get("$LATEST")
    if config is None:
        return EventPolicy()
    return EventPolicy(config.maximum_retry_attempts, config.maximum_event_age, config.on_success, config.on_failure)


def too_old(invocation: Invocation, policy: EventPolicy) -> bool:
    return timezone.now() - invocation.received > dt.timedelta(seconds=policy.maximum_event_age)


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt, after `attempts` attempts (AWS: 1 min, then 2)."""
    delays = settings.LAMBDA_ASYNC_RETRY_DELAYS
    return delays[min(attempts, len(delays)) - 1]


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def invocation_record(invocation: Invocation, condition: str, function_error: str | None) -> dict:
    """AWS's invocation record, as a destination receives it."""
    record: dict = {
        "version": "1.0",
        "timestamp": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": str(invocation.request_id),
            "functionArn": qualified(invocation.function.arn, invocation.qualifier or LATEST),
            "condition": condition,
            "approximateInvokeCount": invocation.attempts,
        },
        "requestPayload": _json_or_text(invocation.payload),
    }
    if invocation.attempts:
        context: dict = {"statusCode": 200, "executedVersion": invocation.version}
        if function_error:
            context["functionError"] = function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(invocation.response)
    return record


def finish(invocation: Invocation, policy: EventPolicy, *, succeeded: bool, condition: str,
           function_error: str | None = None) -> None:
    """Route a finished event's record to its destination, or keep it as dead-lettered."""
    invocation.refresh_from_db()
    destination = policy.on_success if succeeded else policy.on_failure
    if destination and _send(invocation, destination, invocation_record(invocation, condition, function_error)):
        Invocation.objects.filter(pk=invocation.pk).update(destination=destination)
    elif not succeeded:
        Invocation.objects.filter(pk=invocation.pk).update(dead_lettered=True)


def _send(invocation: Invocation, destination: str, record: dict) -> bool:
    try:
        target = destination_function(invocation.function.account_id, destination)
        if target is None:
            log.warning("destination %s of %s is gone; keeping the event", destination, invocation.request_id)
            return False
        function, qualifier = target
        invoke(function, record, invocation_type="Event", qualifier=qualifier, source="destination",
               chain_depth=recursion.chain_depth(function, invocation))
    except Exception:  # the event is kept as dead-lettered instead
        log.exception("could not send the record of %s to %s", invocation.request_id, destination)
        return False
    return True
