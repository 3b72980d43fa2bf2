"""The console's websockets accept only pages of the console's own origin.

Channels' AllowedHostsOriginValidator compares the Origin's host name with ALLOWED_HOSTS and
ignores the port, so a page of the trigger listener (same host, another port) would pass it and
open the live logs with the user's session. Here the Origin's scheme, host and port must be the
ones the request itself was sent to (its Host header), and that host must be one of ALLOWED_HOSTS.
Behind a TLS proxy, run Daphne with --proxy-headers so the scheme is the client's.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _origin_of_request(scope: dict) -> tuple[str, str, int] | None:
    """(scheme, host, port) of the page origin this websocket request belongs to."""
    host = _header(scope, b"host")
    if not host:
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    domain, port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    # urlsplit gives an IPv6 origin's host without its brackets
    return scheme, domain.strip("[]"), int(port) if port else DEFAULT_PORTS[scheme]


def same_origin(scope: dict) -> bool:
    origin = _header(scope, b"origin")
    expected = _origin_of_request(scope)
    if not origin or expected is None:
        return False
    try:
        parts = urlsplit(origin.lower())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a malformed port
        return False
    return (parts.scheme, parts.hostname, port) == expected


class SameOriginValidator:
    """ASGI middleware for websockets: refuse any Origin but the request's own."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin(scope):
            log.warning("websocket %s refused: Origin %r is not the console's own", scope.get("path"),
                        _header(scope, b"origin"))
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
