"""Requests under the API's date prefixes that match no operation this server serves.

AWS answers a request for an operation it does not know with UnknownOperationException,
HTTP 404 (AWS's "Common Errors" page, docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/
common-errors.html). A bare "unknown" helps little, and a "function not found" misleads, so
botocore's own model of the Lambda API is asked which AWS operation a method and path belong
to: a client calling GetFunctionCodeSigningConfig learns that it is not served here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from ..errors import InvalidParameterValue, LambdaError
from ..models import Account
from ..sigv4 import _raw_path

API_URLCONF = "console.api.urls"
_LABEL_RE = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


class UnknownOperation(LambdaError):
    code = "UnknownOperationException"
    status = 404


@dataclass(frozen=True)
class Route:
    """One operation of AWS's Lambda API: its method, path template and fixed query keys."""

    operation: str
    method: str
    template: str
    pattern: re.Pattern
    query: tuple[str, ...]

    def example_path(self) -> str:
        return _LABEL_RE.sub("x", self.template)


@lru_cache(maxsize=1)
def routes() -> tuple[Route, ...]:
    import botocore.session  # its loader and models cost ~0.15 s: only once a request reaches no operation

    model = botocore.session.get_session().get_service_model("lambda")
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        template, _, query = http["requestUri"].partition("?")
        template = template.rstrip("/") or "/"
        keys = tuple(pair.split("=", 1)[0] for pair in query.split("&") if pair)
        found.append(Route(name, http["method"], template, _regex(template), keys))
    return tuple(found)


def _regex(template: str) -> re.Pattern:
    """A label matches one path segment, a greedy label ({Resource+}) the rest; each is a group."""
    out, at = [], 0
    for label in _LABEL_RE.finditer(template):
        out += [re.escape(template[at:label.start()]), "(.+)" if label.group(2) else "([^/]+)"]
        at = label.end()
    out.append(re.escape(template[at:]))
    return re.compile("^" + "".join(out) + "/?$")


def aws_route(method: str, raw_path: str, query_keys: set[str]) -> Route | None:
    """The AWS Lambda operation this method and (still percent-encoded) path would call."""
    candidates = [r for r in routes() if r.method == method and r.pattern.match(raw_path)]
    # ListLayers and GetLayerVersionByArn share a path; the query string tells them apart.
    candidates.sort(key=lambda r: (not set(r.query) <= query_keys, -len(r.query)))
    return candidates[0] if candidates else None


def _served(route: Route) -> bool:
    try:
        match = resolve(route.example_path(), urlconf=API_URLCONF)
    except Resolver404:
        return False
    handler = getattr(match.func, "handlers", {}).get(route.method)
    return handler is not None and handler is not not_an_operation


def unknown_operation_error(request: HttpRequest) -> LambdaError:
    """The error for a request that reached no operation, naming what it asked for."""
    method, raw_path = request.method or "", _raw_path(request)
    if invalid := _value_with_slash(raw_path):
        # A path of the API whose function name (or alias...) holds a '/', sent percent-encoded:
        # that value is what is wrong, whatever the method, as AWS's validation says.
        label, value = invalid
        return InvalidParameterValue(
            f"1 validation error detected: Value '{value}' at '{label[0].lower() + label[1:]}' failed to satisfy "
            "constraint: Member must not contain '/'.", field=label)
    route = aws_route(method, raw_path, set(request.GET))
    if route is None or _served(route):
        return UnknownOperation(f"Unknown operation: {method} {request.path}. This method and path match no "
                                "operation of the AWS Lambda API.")
    return UnknownOperation(f"The operation {route.operation} ({route.method} {route.template}) is not supported "
                            "by this server.")


def _value_with_slash(raw_path: str) -> tuple[str, str] | None:
    for route in routes():
        match = route.pattern.match(raw_path)
        if match is None:
            continue
        for label, value in zip(_LABEL_RE.finditer(route.template), match.groups()):
            if not label.group(2) and "/" in unquote(value):
                return label.group(1), unquote(value)
    return None


def not_an_operation(request: HttpRequest, account: Account, rest: str = "") -> HttpResponse:
    """Paths under the API's prefixes that match no operation served here."""
    raise unknown_operation_error(request)
