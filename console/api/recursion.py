"""GetFunctionRecursionConfig and PutFunctionRecursionConfig (API version 2024-08-31).

Shapes from botocore's service model: both answer {"RecursiveLoop": "Allow" | "Terminate"};
Put takes the same object. The function is named without a qualifier (UnqualifiedFunctionName).
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..models import Account
from ..services.recursion import clean_recursive_loop, function_set_recursive_loop
from . import base
from .errors import json_response


def get_function_recursion_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    return json_response({"RecursiveLoop": function.recursive_loop})


def put_function_recursion_config(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    # The value is checked before the function is looked up, as AWS's front end checks a
    # request's constraints before the operation runs.
    value = clean_recursive_loop(base.json_body(request, "PutFunctionRecursionConfig").get("RecursiveLoop"))
    function = function_set_recursive_loop(base.unqualified_function(request, account, name), value)
    return json_response({"RecursiveLoop": function.recursive_loop})
