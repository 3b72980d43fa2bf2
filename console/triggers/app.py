"""The trigger listener: an ASGI app that serves function URLs and HTTP APIs, and nothing else.

It runs as a process of its own (Procfile `triggers`, `console.asgi:triggers_application`) on
another port or host than the console, so a function's answer is never a page of the console's
origin: its scripts cannot read the console's pages, and the console's websocket refuses them.
Anything that is not a trigger gets a plain 404 here, as the triggers do on the console.
"""
from __future__ import annotations

import io
from urllib.parse import urlsplit

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host

from ..fastpath import read_body, send_response
from ..limits import SYNC_PAYLOAD_LIMIT
from . import asgi as triggers
from . import responses


def not_found() -> HttpResponse:
    return HttpResponse(b"Not Found", status=404, content_type="text/plain")


def trigger_hosts() -> list[str]:
    """The Host names this listener answers to (ALLOWED_HOSTS syntax)."""
    hosts = ["127.0.0.1", "localhost", "[::1]", f".lambda-url.{settings.LAMBDA_URL_DOMAIN}"]
    if own := urlsplit(settings.LAMBDA_TRIGGER_URL).hostname:
        hosts.append(own)
    return hosts + list(settings.LAMBDA_TRIGGER_HOSTS)


class TriggerApp:
    """ASGI application of the trigger listener."""

    def __init__(self) -> None:
        self.hosts = trigger_hosts()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            return await self._http(scope, receive, send)
        if scope["type"] == "websocket":  # triggers take no websockets
            await receive()
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            return await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope, receive, send) -> None:
        domain, _port = split_domain_port(triggers.host_of(scope))
        if not validate_host(domain, self.hosts):
            return await send_response(responses.message(400, "Bad Request"), send)
        target = triggers.trigger_for(scope)
        if target is None:
            return await send_response(not_found(), send)
        view, ident, prefix = target
        try:
            # The body alone, bounded as it arrives; `invoke` checks the event made of it.
            body = await read_body(receive, SYNC_PAYLOAD_LIMIT)
        except ConnectionAbortedError:
            return
        if body is None:
            return await send_response(responses.message(413, "Request Entity Too Large"), send)
        await send_response(await view(ASGIRequest(scope, io.BytesIO(body)), ident, prefix), send)
