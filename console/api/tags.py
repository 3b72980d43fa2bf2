"""TagResource, UntagResource and ListTags on a function's ARN."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..errors import InvalidParameterValue, InvalidRequestContent
from ..models import Account, Function
from ..services.functions import function_set_tags
from . import base
from .errors import json_response


def _function(account: Account, arn: str) -> Function:
    if not arn.startswith("arn:"):
        raise InvalidParameterValue(f"{arn} is not a function ARN.", field="Resource")
    name, qualifier = base.parse_function_ref(account, arn)
    if qualifier:
        raise InvalidParameterValue("Tags apply to a function, not to one of its versions or aliases.",
                                    field="Resource")
    return base.function_get(account, name)


def tag_resource(request: HttpRequest, account: Account, arn: str) -> HttpResponse:
    data = base.json_body(request, "TagResource")
    function = _function(account, arn)
    tags = data.get("Tags")
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidRequestContent("Could not parse request body into json: Tags must map strings to strings.")
    function_set_tags(function, {**function.tags, **tags})
    return json_response(None, 204)


def untag_resource(request: HttpRequest, account: Account, arn: str) -> HttpResponse:
    function = _function(account, arn)
    keys = set(request.GET.getlist("tagKeys"))
    function_set_tags(function, {k: v for k, v in function.tags.items() if k not in keys})
    return json_response(None, 204)


def list_tags(request: HttpRequest, account: Account, arn: str) -> HttpResponse:
    return json_response({"Tags": dict(_function(account, arn).tags)})
