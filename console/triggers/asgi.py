"""Which requests are function URL or HTTP API calls (the trigger listener, console/triggers/app.py,
serves them; the console answers them 404).

Paths /lambda-url/<url-id>/... and /http-api/<api-id>/..., and hosts
<url-id>.lambda-url.<LAMBDA_URL_DOMAIN>. Trigger responses are the function's own: no
session, no CSRF check, no X-Frame-Options.
"""
from __future__ import annotations

import re

from django.conf import settings
from django.http.request import split_domain_port

from . import handlers

URL_PATH_RE = re.compile(r"^(/lambda-url/([a-z0-9]{32}))(?:/.*)?$")
API_PATH_RE = re.compile(r"^(/http-api/([a-z0-9]{10}))(?:/.*)?$")
URL_HOST_RE = re.compile(r"^([a-z0-9]{32})\.lambda-url\.(.+)$")


def host_of(scope: dict) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return value.decode("latin-1")
    return ""


def trigger_for(scope: dict) -> tuple | None:
    """(view, id, path prefix) for a trigger request, or None for the console's own pages."""
    domain, _port = split_domain_port(host_of(scope))
    if (match := URL_HOST_RE.match(domain)) and match.group(2) == settings.LAMBDA_URL_DOMAIN.lower():
        return handlers.function_url, match.group(1), ""
    path = scope.get("path", "")
    if match := URL_PATH_RE.match(path):
        return handlers.function_url, match.group(2), match.group(1)
    if match := API_PATH_RE.match(path):
        return handlers.http_api, match.group(2), match.group(1)
    return None
