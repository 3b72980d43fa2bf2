"""CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig, DeleteFunctionUrlConfig and
ListFunctionUrlConfigs, through the function URL services the console uses."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from ..errors import InvalidParameterValue
from ..models import Account, FunctionUrlConfig
from ..services.function_urls import (function_url_create, function_url_delete, function_url_get,
                                      function_url_update, function_urls_list)
from . import base
from .errors import json_response

MAX_URL_ITEMS = 50


def url_config(request: HttpRequest, config: FunctionUrlConfig, *, created: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        # On the trigger listener, not on this API's origin (console/triggers/endpoints.py).
        "FunctionUrl": config.url,
        "FunctionArn": config.function_arn,
        "AuthType": config.auth_type,
        "CreationTime": base_timestamp(config.created),
        "InvokeMode": config.invoke_mode,
    }
    if config.cors:
        out["Cors"] = dict(config.cors)
    if not created:
        out["LastModifiedTime"] = base_timestamp(config.last_modified)
    return out


def base_timestamp(value) -> str:
    """Function URL times are ISO 8601 strings with microseconds, as AWS gives them."""
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _qualifier(request: HttpRequest, account: Account, name: str):
    function, qualifier = base.function_and_qualifier(request, account, name)
    return function, qualifier


def _cors(data: dict[str, Any]) -> dict | None:
    return base.structure(data, "Cors") if "Cors" in data else None


def create_function_url_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "CreateFunctionUrlConfig")
    function, qualifier = _qualifier(request, account, name)
    config = function_url_create(account, function, auth_type=base.string(data, "AuthType", required=True),
                                 cors=_cors(data), qualifier=qualifier,
                                 invoke_mode=base.string(data, "InvokeMode", default="BUFFERED"))
    return json_response(url_config(request, config, created=True), 201)


def get_function_url_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = _qualifier(request, account, name)
    return json_response(url_config(request, function_url_get(account, function, qualifier)))


def update_function_url_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    """Change what is given; what is left out keeps its value, as on AWS."""
    data = base.json_body(request, "UpdateFunctionUrlConfig")
    function, qualifier = _qualifier(request, account, name)
    config = function_url_get(account, function, qualifier)
    config = function_url_update(config, auth_type=data.get("AuthType") and base.string(data, "AuthType"),
                                 cors=_cors(data),
                                 invoke_mode=data.get("InvokeMode") and base.string(data, "InvokeMode"))
    return json_response(url_config(request, config))


def delete_function_url_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = _qualifier(request, account, name)
    function_url_delete(function_url_get(account, function, qualifier))
    return json_response(None, 204)


def list_function_url_configs(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    raw = request.GET.get("MaxItems")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= MAX_URL_ITEMS):
        raise InvalidParameterValue(f"MaxItems must be a whole number from 1 to {MAX_URL_ITEMS}.", field="MaxItems")
    configs = function_urls_list(account, function)
    items, next_marker = base.page(request, [(c.qualifier or "\x00", c) for c in sorted(
        configs, key=lambda c: c.qualifier or "\x00")])
    out: dict[str, Any] = {"FunctionUrlConfigs": [url_config(request, c) for c in items]}
    if next_marker:
        out["NextMarker"] = next_marker
    return json_response(out)
