"""What every API operation shares: dispatch, authentication, request bodies, function lookup."""
from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .. import arns
from ..errors import InvalidParameterValue, InvalidRequestContent, LambdaError, RequestTooLarge
from ..models import Account, Alias, Function, Version
from ..services.functions import function_get
from ..sigv4 import authenticate
from .access import authorize_call
from .errors import error_response, unexpected_error_response
from .unknown import unknown_operation_error

Handler = Callable[..., HttpResponse]

# Operations block (Invoke waits for its function), so they run on a pool of their own
# instead of Django's single thread for sync views: one slow call must not queue the rest.
EXECUTOR = ThreadPoolExecutor(max_workers=64, thread_name_prefix="lambda-api")

MAX_ITEMS = 10000
DEFAULT_ITEMS = 50


def operations(**handlers: Handler) -> Callable:
    """A view answering each HTTP method with its operation, e.g. operations(GET=get_alias, PUT=...)."""

    @csrf_exempt
    async def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        handler = handlers.get(request.method or "")
        return await sync_to_async(_call, thread_sensitive=False, executor=EXECUTOR)(request, handler, kwargs)

    view.handlers = handlers  # which methods this path serves: console.api.unknown asks
    return view


def _call(request: HttpRequest, handler: Handler | None, kwargs: dict[str, str]) -> HttpResponse:
    request_id = str(uuid.uuid4())
    close_old_connections()
    try:
        caller = authenticate(request)
        if handler is None:
            raise unknown_operation_error(request)
        account = authorize_call(request, caller, handler, kwargs)
        response = handler(request, account, **kwargs)
    except LambdaError as exc:
        return error_response(exc, request_id)
    except RequestDataTooBig:
        return error_response(RequestTooLarge("Request must be smaller than "
                                              f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."), request_id)
    except Exception as exc:  # noqa: BLE001 - answered as ServiceException, logged with its traceback
        return unexpected_error_response(exc, request_id)
    finally:
        close_old_connections()
    if "x-amzn-RequestId" not in response:
        response["x-amzn-RequestId"] = request_id
    return response


# --- Request bodies ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def service_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("lambda")


def body_fields(operation: str) -> set[str]:
    shape = service_model().operation_model(operation).input_shape
    return {name for name, member in shape.members.items() if not member.serialization.get("location")}


def json_body(request: HttpRequest, operation: str) -> dict[str, Any]:
    """The JSON object of the request; unknown fields are refused as AWS's parser refuses them."""
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: {exc}")
    if not isinstance(data, dict):
        raise InvalidRequestContent("Could not parse request body into json: the body must be a JSON object.")
    unknown = sorted(set(data) - body_fields(operation))
    if unknown:
        raise InvalidRequestContent(
            f'Could not parse request body into json: Unrecognized field "{unknown[0]}", not marked as ignorable.')
    return data


def string(data: dict[str, Any], field: str, required: bool = False, default: str = "") -> str:
    value = data.get(field)
    if value is None:
        if required:
            raise InvalidParameterValue(f"{field} is required.", field=field)
        return default
    if not isinstance(value, str):
        raise InvalidRequestContent(f"Could not parse request body into json: {field} must be a string.")
    return value


def structure(data: dict[str, Any], field: str) -> dict[str, Any]:
    value = data.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestContent(f"Could not parse request body into json: {field} must be an object.")
    return value


def blob(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidRequestContent(f"Could not parse request body into json: {field} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestContent(
            f"Could not parse request body into json: Failed to decode {field} as base64.")


def boolean(data: dict[str, Any], field: str) -> bool:
    value = data.get(field, False)
    if not isinstance(value, bool):
        raise InvalidRequestContent(f"Could not parse request body into json: {field} must be true or false.")
    return value


def revision_matches(data: dict[str, Any], current: Any) -> None:
    from ..errors import PreconditionFailed

    revision = data.get("RevisionId")
    if revision is not None and str(revision) != str(current):
        raise PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API "
            "to retrieve the latest Revision Id")


# --- Paging --------------------------------------------------------------------------------

def max_items(request: HttpRequest) -> int:
    raw = request.GET.get("MaxItems")
    if raw is None:
        return DEFAULT_ITEMS
    if not re.fullmatch(r"\d+", raw) or not 1 <= int(raw) <= MAX_ITEMS:
        raise InvalidParameterValue(f"MaxItems must be a whole number from 1 to {MAX_ITEMS}.", field="MaxItems")
    return int(raw)


def page(request: HttpRequest, keyed: list[tuple[str, Any]]) -> tuple[list[Any], str | None]:
    """One page of (key, item) pairs sorted by key, after the request's Marker; and the next Marker.

    A marker is the opaque form of the last key given out, so a page stays right when items
    before it are deleted in between.
    """
    marker = request.GET.get("Marker")
    items = keyed
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, ValueError):
            raise InvalidParameterValue("Invalid Marker.", field="Marker")
        items = [pair for pair in keyed if pair[0] > after]
    limit = max_items(request)
    chosen = items[:limit]
    next_marker = None
    if len(items) > limit:
        next_marker = base64.urlsafe_b64encode(chosen[-1][0].encode()).decode()
    return [item for _, item in chosen], next_marker


def sort_key(name: str, version: str) -> str:
    # $LATEST first, then versions in numeric order.
    return f"{name}\x00{'0' if version == '$LATEST' else '1' + version.zfill(10)}"


# --- Functions -----------------------------------------------------------------------------

def parse_function_ref(account: Account, ref: str) -> tuple[str, str | None]:
    """(name, qualifier or None) from a name, an ARN or a partial ARN of the caller's account."""
    return arns.parse_function_name(ref, account.account_id, settings.LAMBDA_REGION)


def function_and_qualifier(request: HttpRequest, account: Account, ref: str) -> tuple[Function, str | None]:
    """The caller's function named by the path and its qualifier (from the ARN or ?Qualifier=)."""
    name, derived = parse_function_ref(account, ref)
    qualifier = arns.request_qualifier(derived, request.GET.get("Qualifier"))
    return function_get(account, name), qualifier


def unqualified_function(request: HttpRequest, account: Account, ref: str) -> Function:
    name, derived = parse_function_ref(account, ref)
    if derived:
        raise InvalidParameterValue("This operation takes an unqualified function name or ARN.",
                                    field="FunctionName")
    return function_get(account, name)


def resolve_config(function: Function, qualifier: str | None) -> tuple[str, Function | Version, Alias | None]:
    """(version, the row with its configuration, the alias if one was named); never picks at random."""
    resolved = arns.resolve(function, qualifier)
    return resolved.version, resolved.config, resolved.alias
