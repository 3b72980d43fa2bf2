"""AWS's query protocol, server side, driven by botocore's service models (IAM, STS; SNS next).

A query request is a form (`Action=CreateRole&Version=2010-05-08&RoleName=r&Tags.member.1.Key=k`,
in the body or the query string); the answer is XML (`<CreateRoleResponse xmlns=...>
<CreateRoleResult>...</CreateRoleResult><ResponseMetadata><RequestId>`), errors an
`<ErrorResponse>`. Both directions follow the operation's input and output shapes in the
service's botocore model, the same model the clients serialize and parse with, so a member
this module writes is the one boto3 and the AWS CLI read. Constraints the model states
(required, length, pattern, range, enum) are checked here and refused with AWS's
"N validation errors detected" ValidationError, before any rule runs.

A wire module calls `serve(request, service, operations)`; an operation is a plain function
`(principal, params) -> dict | None` whose dict keys are the output shape's member names.
It raises errors carrying `query_code` (or `code`), `status` and `message`, as
`console.iam.errors` and `console.sigv4`'s do.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import uuid
from functools import lru_cache
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse

from .sigv4 import Principal, authenticate

logger = logging.getLogger(__name__)

Operation = Callable[[Principal, dict[str, Any]], "dict[str, Any] | None"]
MAX_FIELDS = 2000


class QueryError(Exception):
    """An error every query service shares (AWS's "Common Errors" page)."""

    query_code = "InternalFailure"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAction(QueryError):
    query_code, status = "InvalidAction", 400


class MissingAction(QueryError):
    query_code, status = "MissingAction", 400


class ValidationError(QueryError):
    query_code, status = "ValidationError", 400


class MalformedQueryString(QueryError):
    query_code, status = "MalformedQueryString", 404


@lru_cache(maxsize=None)
def service_model(service: str) -> ServiceModel:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


# --- Requests ------------------------------------------------------------------------------

def form_of(request: HttpRequest) -> dict[str, str]:
    """The request's parameters: the query string's, then the form body's (which win)."""
    params: dict[str, str] = {}
    try:
        sources = [request.META.get("QUERY_STRING", "")]
        if request.method == "POST":
            sources.append(request.body.decode("utf-8"))
        for source in sources:
            params.update(parse_qsl(source, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedQueryString("The query string or form body is not valid application/x-www-form-urlencoded UTF-8.")
    return params


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def parse_input(operation: OperationModel, params: Mapping[str, str]) -> dict[str, Any]:
    """The operation's input as a dict of its members, checked against the model's constraints."""
    shape = operation.input_shape
    if shape is None:
        return {}
    problems: list[str] = []
    value = _parse_structure(shape, params, "", problems, "")
    if problems:
        count = len(problems)
        raise ValidationError(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems))
    return value


def _parse(shape: Shape, params: Mapping[str, str], key: str, problems: list[str], where: str) -> Any:
    """The value at `key` (a form prefix) of type `shape`; a missing value is None."""
    if isinstance(shape, StructureShape):
        if not any(k.startswith(key + ".") for k in params):
            return None
        return _parse_structure(shape, params, key + ".", problems, where + ".")
    if isinstance(shape, ListShape):
        return _parse_list(shape, params, key, problems, where)
    if isinstance(shape, MapShape):
        return _parse_map(shape, params, key, problems, where)
    if key not in params:
        return None
    return _scalar(shape, params[key], problems, where)


def _parse_structure(shape: StructureShape, params: Mapping[str, str], prefix: str, problems: list[str],
                     where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire_name = member.serialization.get("name", name)
        value = _parse(member, params, prefix + wire_name, problems, where + _camel(name))
        if value is None:
            if name in shape.required_members:
                problems.append(f"Value null at '{where + _camel(name)}' failed to satisfy constraint: "
                                "Member must not be null")
            continue
        _check(member, value, problems, where + _camel(name))
        out[name] = value
    return out


def _parse_list(shape: ListShape, params: Mapping[str, str], key: str, problems: list[str], where: str) -> Any:
    if shape.serialization.get("flattened"):
        item_prefix = key + "."
    else:
        item_prefix = f"{key}.{shape.member.serialization.get('name', 'member')}."
    items, index = [], 1
    while True:
        item_key = f"{item_prefix}{index}"
        if item_key not in params and not any(k.startswith(item_key + ".") for k in params):
            break
        item = _parse(shape.member, params, item_key, problems, f"{where}.{index}.member")
        if item is not None:
            _check(shape.member, item, problems, f"{where}.{index}.member")
        items.append(item)
        index += 1
    if not items:
        # An empty list travels as the bare key with an empty value (botocore's serializer).
        return [] if params.get(key) == "" else None
    return items


def _parse_map(shape: MapShape, params: Mapping[str, str], key: str, problems: list[str], where: str) -> Any:
    flat = shape.serialization.get("flattened")
    entry = key + "." if flat else key + ".entry."
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out, index = {}, 1
    while f"{entry}{index}.{key_name}" in params:
        item_key = params[f"{entry}{index}.{key_name}"]
        out[item_key] = _parse(shape.value, params, f"{entry}{index}.{value_name}", problems, where)
        index += 1
    return out or None


def _scalar(shape: Shape, text: str, problems: list[str], where: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if kind == "timestamp":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        problems.append(f"Value '{text}' at '{where}' failed to satisfy constraint: Member must be a valid {kind}")
        return None
    return text


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern, re.ASCII)  # Java's \w and \d, as the models mean them
    except re.error:  # a Java-only construct: the rules check what matters
        return None


def _check(shape: Shape, value: Any, problems: list[str], where: str) -> None:
    """The model's constraints on one value, in the words of AWS's ValidationError."""
    meta = shape.metadata
    shown = f"'{value}'" if not isinstance(value, (list, dict)) else "'[...]'"

    def refuse(constraint: str) -> None:
        problems.append(f"Value {shown} at '{where}' failed to satisfy constraint: Member must {constraint}")

    if isinstance(value, (str, list, dict)):
        if "min" in meta and len(value) < meta["min"]:
            refuse(f"have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            refuse(f"have length less than or equal to {meta['max']}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            refuse(f"have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            refuse(f"have value less than or equal to {meta['max']}")
    if isinstance(value, str):
        if "pattern" in meta and (pattern := _pattern(meta["pattern"])) and not pattern.fullmatch(value):
            refuse(f"satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            refuse(f"satisfy enum value set: [{', '.join(shape.enum)}]")


# --- Responses -----------------------------------------------------------------------------

def timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC, as IAM and STS write CreateDate and Expiration."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(shape: Shape, value: Any) -> str:
    if isinstance(shape, StructureShape):
        parts = []
        for name, member in shape.members.items():
            if value.get(name) is None:
                continue
            tag = member.serialization.get("name", name)
            parts.append(_element(tag, member, value[name]))
        return "".join(parts)
    if isinstance(shape, ListShape):
        tag = shape.member.serialization.get("name", "member")
        return "".join(_element(tag, shape.member, item) for item in value)
    if isinstance(shape, MapShape):
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        return "".join(f"<entry><{key_tag}>{escape(str(k))}</{key_tag}>{_element(value_tag, shape.value, v)}</entry>"
                       for k, v in value.items())
    kind = shape.type_name
    if kind == "timestamp":
        return timestamp(value) if isinstance(value, dt.datetime) else escape(str(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(value).decode()
    return escape(str(value))


def _element(tag: str, shape: Shape, value: Any) -> str:
    if isinstance(shape, ListShape) and shape.serialization.get("flattened"):
        item_tag = shape.member.serialization.get("name", tag)
        return "".join(_element(item_tag, shape.member, item) for item in value)
    return f"<{tag}>{_xml(shape, value)}</{tag}>"


def _xml_response(body: str, status: int, request_id: str) -> HttpResponse:
    response = HttpResponse(('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(), status=status,
                            content_type="text/xml")
    response["x-amzn-RequestId"] = request_id
    return response


def result_response(model: ServiceModel, operation: OperationModel, output: dict[str, Any] | None,
                    request_id: str) -> HttpResponse:
    name, namespace = operation.name, model.metadata.get("xmlNamespace", "")
    result = ""
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        result = f"<{wrapper}>{_xml(shape, output or {})}</{wrapper}>"
    return _xml_response(f'<{name}Response xmlns="{namespace}">{result}<ResponseMetadata><RequestId>{request_id}'
                         f"</RequestId></ResponseMetadata></{name}Response>", 200, request_id)


def error_response(model: ServiceModel, code: str, message: str, status: int, request_id: str) -> HttpResponse:
    kind = "Sender" if status < 500 else "Receiver"
    namespace = model.metadata.get("xmlNamespace", "")
    return _xml_response(f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
                         f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                         "</ErrorResponse>", status, request_id)


# --- Serving -------------------------------------------------------------------------------

def serve(request: HttpRequest, service: str, operations: Mapping[str, Operation]) -> HttpResponse:
    """Authenticate, parse, run the named operation, and answer in XML, errors included."""
    request_id = str(uuid.uuid4())
    model = service_model(service)
    close_old_connections()
    try:
        principal = authenticate(request, service=service)
        params = form_of(request)
        action = params.get("Action", "")
        if not action:
            raise MissingAction("The request is missing an action or a required parameter.")
        if action not in operations:
            raise InvalidAction(f"Could not find operation {action} for version {model.api_version}"
                                if action not in model.operation_names else
                                f"The operation {action} is not supported by this server.")
        operation = model.operation_model(action)
        output = operations[action](principal, parse_input(operation, params))
        return result_response(model, operation, output, request_id)
    except Exception as exc:  # noqa: BLE001 - every error is answered in the protocol's shape
        code = getattr(exc, "query_code", None) or getattr(exc, "code", None)
        status = getattr(exc, "status", None)
        if not isinstance(code, str) or not isinstance(status, int) or status >= 500:
            logger.error("%s request %s failed", service, request_id, exc_info=exc)
            return error_response(model, "InternalFailure",
                                  f"An internal error occurred. Request ID: {request_id}", 500, request_id)
        message = getattr(exc, "message", None) or str(exc)
        logger.info("%s request %s refused: %d %s: %s", service, request_id, status, code, message)
        return error_response(model, code, message, status, request_id)
    finally:
        close_old_connections()
