"""Invoke: the API's door to the one invoke service."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from executor.invoke import invoke as invoke_function

from ..models import Account
from . import base


def invoke(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    result = invoke_function(
        function, request.body, invocation_type=request.headers.get("X-Amz-Invocation-Type") or "RequestResponse",
        log_type=request.headers.get("X-Amz-Log-Type") or None, qualifier=qualifier, source="api")
    response = HttpResponse(result.payload if result.status_code == 200 else b"", status=result.status_code,
                            content_type="application/json")
    response["x-amzn-RequestId"] = result.request_id
    response["X-Amz-Executed-Version"] = result.executed_version
    if result.function_error:
        response["X-Amz-Function-Error"] = result.function_error
    if result.log_result is not None:
        response["X-Amz-Log-Result"] = result.log_result
    return response
