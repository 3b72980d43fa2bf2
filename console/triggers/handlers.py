"""The serving path of function URLs and HTTP APIs: request -> 2.0 event -> invoke -> response.

Each request resolves its function URL or API (and so the function's account) first, then
goes through the one invoke service. The waiting happens on a pool of threads of its own:
Django runs plain sync views one at a time on a single thread under ASGI, which would let
one slow function hold up every other URL.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse

from executor.invoke import invoke
from executor.result import InvokeResult

from ..authz import caller_id
from ..services.permissions import function_url_allowed
from ..sigv4 import authenticate
from ..errors import LambdaError, RequestTooLarge, TooManyRequests
from ..models import Function, FunctionUrlConfig
from ..services.function_urls import function_url_for_id
from ..services.http_apis import http_api_for_id, route_for
from . import events, responses

log = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=settings.LAMBDA_HTTP_THREADS, thread_name_prefix="http-trigger")


def _done(request: HttpRequest, response: HttpResponse, cors: dict) -> HttpResponse:
    """CORS headers, and a Content-Length so the client's connection stays open (no chunking)."""
    response = responses.apply_cors(request, response, cors)
    response["Content-Length"] = str(len(response.content))
    return response


def _in_pool(func):
    def run(*args):
        close_old_connections()  # as a request would: drop connections past their age
        try:
            return func(*args)
        finally:
            close_old_connections()
    return sync_to_async(run, thread_sensitive=False, executor=_executor)


async def function_url(request: HttpRequest, url_id: str, prefix: str) -> HttpResponse:
    return await _in_pool(serve_function_url)(request, url_id, prefix)


async def http_api(request: HttpRequest, api_id: str, prefix: str) -> HttpResponse:
    return await _in_pool(serve_http_api)(request, api_id, prefix)


def _iam_authorizer(request: HttpRequest, config: FunctionUrlConfig) -> dict | None:
    """The caller's identity for a SigV4-signed request allowed lambda:InvokeFunctionUrl, else None.

    A user's key of the function's account is its administrator; a role session needs the
    action in its role's policies; another account needs the function's resource-based policy
    as well (Lambda developer guide, "Control access to Lambda function URLs").
    """
    try:
        caller = authenticate(request)
        if not function_url_allowed(caller, config):
            return None
    except LambdaError:
        return None
    account_id = caller.account.account_id
    user_id = caller_id(caller)
    return {"iam": {"accessKey": caller.access_key_id, "accountId": account_id,
                    "callerId": user_id, "cognitoIdentity": None, "principalOrgId": None,
                    "userArn": caller.arn, "userId": user_id}}


def _invoke(function: Function, event: dict, qualifier: str, source: str) -> InvokeResult | HttpResponse:
    try:
        return invoke(function, event, "RequestResponse", qualifier=qualifier or None, source=source)
    except TooManyRequests:
        return responses.message(429, "Too Many Requests")
    except RequestTooLarge:  # the event, base64 and all, is over 6 MB (the body alone is checked as it is read)
        return responses.message(413, "Request Entity Too Large")
    except LambdaError as exc:
        log.warning("%s %s could not be invoked: %s", source, function.arn, exc.message)
        return responses.internal_error()


def _answer(result: InvokeResult, timeout_status: int, timeout_message: str) -> HttpResponse:
    if result.function_error:
        if result.error_type == "Sandbox.Timedout":
            return responses.message(timeout_status, timeout_message)
        return responses.internal_error()
    try:
        return responses.function_response(result.payload)
    except responses.Malformed as exc:
        log.warning("request %s: malformed Lambda proxy response: %s", result.request_id, exc)
        return responses.internal_error()


def serve_function_url(request: HttpRequest, url_id: str, prefix: str) -> HttpResponse:
    config = function_url_for_id(url_id)
    if config is None:
        return _done(request, responses.message(403, "Forbidden", key="Message"), {})
    if responses.is_preflight(request, config.cors):
        return _done(request, responses.preflight_response(request, config.cors, 200), {})
    function = config.function
    authorizer = None
    if config.auth_type == FunctionUrlConfig.AuthType.AWS_IAM:
        authorizer = _iam_authorizer(request, config)
        if authorizer is None:
            return _done(request, responses.message(403, "Forbidden", key="Message"), config.cors)
    event = events.http_event(request, path=events.raw_path(request, prefix), route_key="$default", api_id=url_id,
                              account_id=function.account.account_id, domain_prefix=url_id, body=request.body,
                              authorizer=authorizer)
    result = _invoke(function, event, config.qualifier, "function-url")
    if isinstance(result, HttpResponse):
        return _done(request, result, config.cors)
    # A function URL answers a timeout like any other function error.
    response = _answer(result, 502, "Internal Server Error")
    response["X-Amzn-RequestId"] = result.request_id
    return _done(request, response, config.cors)


def serve_http_api(request: HttpRequest, api_id: str, prefix: str) -> HttpResponse:
    api = http_api_for_id(api_id)
    if api is None:
        return _done(request, responses.message(404, "Not Found"), {})
    if responses.is_preflight(request, api.cors):
        return _done(request, responses.preflight_response(request, api.cors, 204), {})
    path = events.raw_path(request, prefix)
    routes = list(api.routes.select_related("function__account"))
    matched = route_for(routes, request.method, unquote(path))
    if matched is None:
        return _done(request, responses.message(404, "Not Found"), api.cors)
    route, params = matched
    request_id = events.api_request_id()
    event = events.http_event(request, path=path, route_key=route.route_key, api_id=api.api_id,
                              account_id=api.account.account_id, domain_prefix=api.api_id, body=request.body,
                              path_parameters=params or None, request_id=request_id)
    result = _invoke(route.function, event, route.qualifier, "http-api")
    response = result if isinstance(result, HttpResponse) else _answer(result, 504, "Endpoint request timed out")
    response["Apigw-Requestid"] = request_id
    return _done(request, response, api.cors)
