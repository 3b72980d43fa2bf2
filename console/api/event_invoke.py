"""PutFunctionEventInvokeConfig, UpdateFunctionEventInvokeConfig, GetFunctionEventInvokeConfig,
DeleteFunctionEventInvokeConfig and ListFunctionEventInvokeConfigs."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from .. import arns
from ..errors import InvalidParameterValue, InvalidRequestContent
from ..models import Account, EventInvokeConfig, Function
from ..services.async_config import event_invoke_config_delete, event_invoke_config_get, event_invoke_config_put
from . import base
from .errors import json_response

MAX_CONFIG_ITEMS = 50


def invoke_config(config: EventInvokeConfig) -> dict[str, Any]:
    function = config.function
    destinations: dict[str, Any] = {}
    if config.on_success:
        destinations["OnSuccess"] = {"Destination": config.on_success}
    if config.on_failure:
        destinations["OnFailure"] = {"Destination": config.on_failure}
    return {
        # A Date in restJson: seconds since the epoch.
        "LastModified": config.last_modified.timestamp(),
        "FunctionArn": arns.qualified(function.arn, config.qualifier),
        "MaximumRetryAttempts": config.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": config.maximum_event_age,
        "DestinationConfig": destinations,
    }


def _target(request: HttpRequest, account: Account, name: str) -> tuple[Function, str]:
    function, qualifier = base.function_and_qualifier(request, account, name)
    qualifier = qualifier or "$LATEST"
    base.resolve_config(function, qualifier)  # the version or alias must exist
    return function, qualifier


def _integer(data: dict[str, Any], field: str) -> int | None:
    value = data.get(field)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequestContent(f"Could not parse request body into json: {field} must be a number.")
    return value


def _destination(data: dict[str, Any], condition: str) -> str | None:
    """The destination ARN of OnSuccess/OnFailure; "" when the key is given empty, None when absent."""
    config = base.structure(data, "DestinationConfig")
    if condition not in config:
        return None
    entry = config[condition] or {}
    if not isinstance(entry, dict):
        raise InvalidRequestContent(f"Could not parse request body into json: {condition} must be an object.")
    destination = base.string(entry, "Destination")
    if destination and not destination.startswith("arn:"):
        raise InvalidParameterValue(f"The destination ARN {destination} is invalid.",
                                    field=f"DestinationConfig.{condition}")
    return destination


def _put(request: HttpRequest, account: Account, name: str, operation: str, merge: bool) -> HttpResponse:
    data = base.json_body(request, operation)
    function, qualifier = _target(request, account, name)
    on_success, on_failure = _destination(data, "OnSuccess"), _destination(data, "OnFailure")
    if not merge:
        # Put replaces the whole configuration: what is left out goes back to its default.
        on_success, on_failure = on_success or "", on_failure or ""
    config = event_invoke_config_put(
        function, qualifier, merge=merge,
        maximum_retry_attempts=_integer(data, "MaximumRetryAttempts"),
        maximum_event_age=_integer(data, "MaximumEventAgeInSeconds"),
        on_success=on_success, on_failure=on_failure)
    return json_response(invoke_config(config))


def put_function_event_invoke_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    return _put(request, account, name, "PutFunctionEventInvokeConfig", merge=False)


def update_function_event_invoke_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    """Change what is given; what is left out keeps its value."""
    return _put(request, account, name, "UpdateFunctionEventInvokeConfig", merge=True)


def get_function_event_invoke_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = _target(request, account, name)
    return json_response(invoke_config(event_invoke_config_get(function, qualifier)))


def delete_function_event_invoke_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = _target(request, account, name)
    event_invoke_config_delete(function, qualifier)
    return json_response(None, 204)


def list_function_event_invoke_configs(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    raw = request.GET.get("MaxItems")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= MAX_CONFIG_ITEMS):
        raise InvalidParameterValue(f"MaxItems must be a whole number from 1 to {MAX_CONFIG_ITEMS}.",
                                    field="MaxItems")
    configs = EventInvokeConfig.objects.filter(function=function).select_related("function__account")
    keyed = sorted(((base.sort_key("", c.qualifier) if arns.is_latest(c.qualifier) or arns.is_version(c.qualifier)
                     else "2" + c.qualifier, c) for c in configs), key=lambda pair: pair[0])
    items, next_marker = base.page(request, keyed)
    out: dict[str, Any] = {"FunctionEventInvokeConfigs": [invoke_config(c) for c in items]}
    if next_marker:
        out["NextMarker"] = next_marker
    return json_response(out)
