"""Asynchronous invocation configuration: retries, maximum event age, destinations."""
from __future__ import annotations

from django.utils import timezone

from ..arns import parse_function_arn
from ..errors import InvalidParameterValue, ResourceNotFound
from ..limits import AGE_RANGE, RETRY_RANGE
from ..models import EventInvokeConfig, Function


def _check_int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterValue(f"{field} must be a whole number from {low} to {high}.", field=field)
    return value


def _check_destination(function: Function, arn: str, field: str) -> str:
    """A destination is another function of the same account (queues and topics to come)."""
    if not arn:
        return ""
    if destination_function(function.account_id, arn) is None:
        raise InvalidParameterValue(
            f"The destination ARN {arn} is invalid: it must name a Lambda function of this account.",
            field=field)
    return arn


def destination_function(account_pk: int, arn: str) -> tuple[Function, str | None] | None:
    """The function (and qualifier) a destination ARN names, within the same account."""
    ref = parse_function_arn(arn)
    if ref is None:
        return None
    function = Function.objects.select_related("account").filter(
        account_id=account_pk, account__account_id=ref.account, name=ref.name).first()
    if function is None:
        return None
    return function, ref.qualifier


def event_invoke_config_get(function: Function, qualifier: str = "$LATEST") -> EventInvokeConfig:
    config = EventInvokeConfig.objects.filter(function=function, qualifier=qualifier or "$LATEST").first()
    if config is None:
        raise ResourceNotFound(f"The function {function.arn} doesn't have an EventInvokeConfig")
    return config


def event_invoke_config_put(function: Function, qualifier: str = "$LATEST", *, merge: bool = False,
                            maximum_retry_attempts: int | None = None, maximum_event_age: int | None = None,
                            on_success: str | None = None, on_failure: str | None = None) -> EventInvokeConfig:
    """Put (replace) or, with merge, update a function's asynchronous invocation settings."""
    qualifier = qualifier or "$LATEST"
    existing = EventInvokeConfig.objects.filter(function=function, qualifier=qualifier).first()
    if merge and existing is None:
        raise ResourceNotFound(f"The function {function.arn} doesn't have an EventInvokeConfig")
    base = existing if merge else EventInvokeConfig(function=function, qualifier=qualifier)
    values = {
        "maximum_retry_attempts": base.maximum_retry_attempts if maximum_retry_attempts is None else
        _check_int(maximum_retry_attempts, "MaximumRetryAttempts", *RETRY_RANGE),
        "maximum_event_age": base.maximum_event_age if maximum_event_age is None else
        _check_int(maximum_event_age, "MaximumEventAgeInSeconds", *AGE_RANGE),
        "on_success": base.on_success if on_success is None else
        _check_destination(function, on_success, "DestinationConfig.OnSuccess"),
        "on_failure": base.on_failure if on_failure is None else
        _check_destination(function, on_failure, "DestinationConfig.OnFailure"),
        "last_modified": timezone.now(),
    }
    config, _ = EventInvokeConfig.objects.update_or_create(function=function, qualifier=qualifier, defaults=values)
    return config


def event_invoke_config_delete(function: Function, qualifier: str = "$LATEST") -> None:
    event_invoke_config_get(function, qualifier).delete()
