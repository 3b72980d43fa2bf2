"""ASGI dispatch of function URLs and HTTP APIs, in front of Django's handler.

Paths /lambda-url/<url-id>/... and /http-api/<api-id>/..., and hosts
<url-id>.lambda-url.<LAMBDA_URL_DOMAIN>, are served here; everything else goes to Django.
Trigger responses are the function's own (no session, no CSRF check, no X-Frame-Options),
and skipping Django's handler matters for speed: it runs the request signals and every
sync middleware through one shared thread, which caps Daphne near 300 requests/s on two
cores, where this path does several times that (bench/http.py measures both).
"""
from __future__ import annotations

import io
import re

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host

from . import responses, views

URL_PATH_RE = re.compile(r"^(/lambda-url/([a-z0-9]{32}))(?:/.*)?$")
API_PATH_RE = re.compile(r"^(/http-api/([a-z0-9]{10}))(?:/.*)?$")
URL_HOST_RE = re.compile(r"^([a-z0-9]{32})\.lambda-url\.(.+)$")
BODY_LIMIT = views.BODY_LIMIT


def _host(scope: dict) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return value.decode("latin-1")
    return ""


def trigger_for(scope: dict) -> tuple | None:
    """(view, id, path prefix) for a trigger request, or None for the console's own pages."""
    domain, _port = split_domain_port(_host(scope))
    if (match := URL_HOST_RE.match(domain)) and match.group(2) == settings.LAMBDA_URL_DOMAIN.lower():
        return views.function_url, match.group(1), ""
    path = scope.get("path", "")
    if match := URL_PATH_RE.match(path):
        return views.function_url, match.group(2), match.group(1)
    if match := API_PATH_RE.match(path):
        return views.http_api, match.group(2), match.group(1)
    return None


async def _read_body(receive) -> bytes | None:
    """The whole body, or None as soon as it passes the limit."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > BODY_LIMIT:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(response: HttpResponse, send) -> None:
    headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()]
    headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


class TriggerRouter:
    """An ASGI app: trigger requests are served here, the rest by `django_app`."""

    def __init__(self, django_app) -> None:
        self.django_app = django_app

    async def __call__(self, scope, receive, send) -> None:
        target = trigger_for(scope) if scope["type"] == "http" else None
        if target is None:
            return await self.django_app(scope, receive, send)
        view, ident, prefix = target
        domain, _port = split_domain_port(_host(scope))
        if not validate_host(domain, settings.ALLOWED_HOSTS):
            return await _send(responses.message(400, "Bad Request"), send)
        try:
            body = await _read_body(receive)
        except ConnectionAbortedError:
            return
        if body is None:
            return await _send(responses.message(413, "Request Entity Too Large"), send)
        await _send(await view(ASGIRequest(scope, io.BytesIO(body)), ident, prefix), send)
