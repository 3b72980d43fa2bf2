"""PutFunctionConcurrency, GetFunctionConcurrency and DeleteFunctionConcurrency."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..errors import InvalidParameterValue
from ..models import Account
from ..services.functions import function_set_concurrency
from . import base
from .errors import json_response


def put_concurrency(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "PutFunctionConcurrency")
    function = base.unqualified_function(request, account, name)
    reserved = data.get("ReservedConcurrentExecutions")
    if reserved is None:
        raise InvalidParameterValue("ReservedConcurrentExecutions is required.", field="ReservedConcurrentExecutions")
    # The account-wide rule (a minimum stays unreserved) is the service's, shared with the console.
    function = function_set_concurrency(function, reserved)
    return json_response({"ReservedConcurrentExecutions": function.reserved_concurrency})


def get_concurrency(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    if function.reserved_concurrency is None:
        return json_response({})
    return json_response({"ReservedConcurrentExecutions": function.reserved_concurrency})


def delete_concurrency(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function_set_concurrency(base.unqualified_function(request, account, name), None)
    return json_response(None, 204)
