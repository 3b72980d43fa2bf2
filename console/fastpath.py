"""Requests answered ahead of Django's handler: the Lambda API (and a 404 for trigger paths).

Django's ASGI handler runs the request signals and the sync middleware through one shared
thread, which caps Daphne near 300 requests a second on two cores whatever the view does.
The Lambda API (paths under AWS's date prefixes) and the triggers need none of it: they
have no session, no CSRF (API callers sign their requests with SigV4) and no HTML. Their
views are called directly with an ASGIRequest; everything else goes to Django as usual.
Function URLs and HTTP APIs are served by the trigger listener (console/triggers/app.py), never
here: on the console's origin their paths and host names answer 404.
"""
from __future__ import annotations

import io
import re
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve

from . import endpoint
from .api import foreign
from .api.base import EXECUTOR
from .api.errors import error_response, unexpected_error_response
from .api.unknown import UnknownOperation
from .errors import RequestTooLarge
from .s3.wire.request import bucket_of_host
from .triggers import asgi as triggers

API_PATH_RE = re.compile(r"^/20\d\d-\d\d-\d\d/")
API_URLCONF = "console.api.urls"


async def read_body(receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_response(response: HttpResponse, send) -> None:
    headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()]
    headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


class FastPathRouter:
    """An ASGI app: API and trigger requests are served here, the rest by `django_app`."""

    def __init__(self, django_app) -> None:
        self.django_app = django_app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            service = foreign.service_of(scope)  # signed for IAM, STS, S3...: not Lambda
            if service is None and bucket_of_host(triggers.host_of(scope)):
                service = "s3"  # <bucket>.s3.<domain>: a virtual-hosted-style S3 request, signed or not
            if service is None and triggers.trigger_for(scope):
                # Triggers have a listener of their own (console/triggers/app.py): a function's
                # page must never be served from the console's origin.
                return await self._trigger_path(scope, receive, send)
            if service:
                if app := endpoint.asgi_app_for(service):
                    return await app(scope, receive, send)
                if handler := endpoint.handler_for(service):
                    return await self._service(handler, scope, receive, send)
                return await foreign.answer(service, scope, receive, send)  # that service's error shape
            if API_PATH_RE.match(scope.get("path", "")):
                try:
                    match = resolve(scope["path"], urlconf=API_URLCONF)
                except Resolver404:
                    pass
                else:
                    return await self._api(match, scope, receive, send)
        return await self._rest(scope, receive, send)

    async def _rest(self, scope, receive, send) -> None:
        """What is not an AWS API: the console's, served by Django."""
        return await self.django_app(scope, receive, send)

    async def _trigger_path(self, scope, receive, send) -> None:
        await send_response(HttpResponse(b"Not Found", status=404, content_type="text/plain"), send)

    @staticmethod
    def _host_ok(scope: dict) -> bool:
        domain, _port = split_domain_port(triggers.host_of(scope))
        return validate_host(domain, settings.ALLOWED_HOSTS)

    async def _request(self, scope, receive, send, too_large) -> ASGIRequest | None:
        """The request with its whole body, or None once it has been answered (bad Host, or too
        large: then `too_large()` is the answer, built only when needed)."""
        if not self._host_ok(scope):
            await send_response(HttpResponse(status=400), send)
            return None
        try:
            body = await read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        except ConnectionAbortedError:
            return None
        if body is None:
            await send_response(too_large(), send)
            return None
        return ASGIRequest(scope, io.BytesIO(body))

    async def _service(self, handler, scope, receive, send) -> None:
        """Another AWS service of the one endpoint (console/endpoint.py); it answers its own errors."""
        request = await self._request(scope, receive, send,
                                     lambda: HttpResponse(b"Request Entity Too Large", status=413))
        if request is None:
            return
        response = await sync_to_async(handler, thread_sensitive=False, executor=EXECUTOR)(request)
        await send_response(response, send)

    async def _api(self, match, scope, receive, send) -> None:
        request_id = str(uuid.uuid4())
        request = await self._request(scope, receive, send, lambda: error_response(RequestTooLarge(
            f"Request must be smaller than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."), request_id))
        if request is None:
            return
        request.resolver_match = match
        try:
            response = await match.func(request, *match.args, **match.kwargs)
        except Exception as exc:  # noqa: BLE001 - the operations answer their own errors; this is the net
            response = unexpected_error_response(exc, request_id)
        await send_response(response, send)


class EndpointRouter(FastPathRouter):
    """The AWS endpoint on the functions' network (Procfile `endpoint`, LAMBDA_ENDPOINT_PORT):
    the AWS APIs as above, and nothing else. A function reaches it at its bridge's gateway
    address (AWS_ENDPOINT_URL); the console's pages, its login, websockets, static files and
    trigger paths are not served here, so a function can never act as a logged-in user or
    probe the console: every other request gets the Lambda API's UnknownOperationException."""

    def __init__(self) -> None:
        super().__init__(django_app=None)

    @staticmethod
    def _host_ok(scope: dict) -> bool:
        """Functions reach this listener by its address (AWS_ENDPOINT_URL): that is the one Host
        it answers. Django checks ALLOWED_HOSTS again when an operation builds an absolute URL
        (GetFunction's code location), so the listener's own address joins them."""
        server = scope.get("server") or ("", None)
        domain, _port = split_domain_port(triggers.host_of(scope))
        if not server[0] or domain != server[0]:
            return False
        if domain not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS.append(domain)
        return True

    async def _trigger_path(self, scope, receive, send) -> None:
        await self._rest(scope, receive, send)

    async def _rest(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return None
        error = UnknownOperation(f"Unknown operation: {scope.get('method', '')} {scope.get('path', '')}. "
                                 "This endpoint serves the AWS APIs only.")
        return await send_response(error_response(error, str(uuid.uuid4())), send)
