"""The Lambda Runtime API (2018-06-01), served on the host side of the functions' bridge.

A container's runtime reaches it through AWS_LAMBDA_RUNTIME_API. The caller is known by
its address on the bridge: each address belongs to one execution environment, which can
fetch and answer only its own invocations; anything else is refused with 403.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .environment import Environment

log = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
RESPONSE_RE = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")
MAX_RESPONSE = 6 * 1024 * 1024
REGISTRATION_WAIT = 5.0  # a runtime may call before the worker has learned its address


class Registry:
    """Bridge address -> execution environment."""

    def __init__(self) -> None:
        self._by_ip: dict[str, Environment] = {}
        self._changed = threading.Condition()

    def add(self, ip: str, env: "Environment") -> None:
        with self._changed:
            self._by_ip[ip] = env
            self._changed.notify_all()

    def remove(self, ip: str, env: "Environment") -> None:
        with self._changed:
            if self._by_ip.get(ip) is env:
                del self._by_ip[ip]

    def lookup(self, ip: str, wait: float = 0.0) -> "Environment | None":
        with self._changed:
            env = self._by_ip.get(ip)
            if env is None and wait:
                self._changed.wait_for(lambda: ip in self._by_ip, timeout=wait)
                env = self._by_ip.get(ip)
            return env


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves every invocation
    disable_nagle_algorithm = True
    server: "RuntimeAPIServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("runtime api %s: " + format, self.client_address[0], *args)

    def _reply(self, status: int, body: dict | bytes = b"", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json",
                f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        # Headers and body in one write: no small-packet stalls on the hot path.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    def _forbidden(self) -> None:
        self._reply(403, {"errorMessage": "Forbidden", "errorType": "Forbidden"})

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_RESPONSE:
            # Drain so the connection stays usable, then refuse.
            remaining = length
            while remaining > 0:
                remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
            return None
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return
        env = self.server.registry.lookup(self.client_address[0], wait=REGISTRATION_WAIT)
        if env is None:
            self._forbidden()
            return
        delivery = env.next_invocation()  # long poll: blocks until there is work
        if delivery is None:  # the environment is shutting down
            self.close_connection = True
            self._reply(410, {"errorMessage": "Environment stopped", "errorType": "Gone"})
            return
        self._reply(200, delivery.payload, delivery.headers)

    def do_POST(self) -> None:
        env = self.server.registry.lookup(self.client_address[0], wait=REGISTRATION_WAIT)
        body = self._body()
        if env is None:
            self._forbidden()
            return
        if body is None:
            self._reply(413, {"errorMessage": "Payload too large", "errorType": "RequestEntityTooLarge"})
            env.response_too_large(self._request_id())
            return
        if self.path == f"{PREFIX}/init/error":
            env.init_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type", ""))
            self._reply(202, {"status": "OK"})
            return
        match = RESPONSE_RE.match(self.path)
        if not match:
            self._reply(404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return
        request_id, kind = match.groups()
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "") if kind == "error" else None
        if not env.complete(request_id, body, error_type):
            self._forbidden()  # not this environment's invocation, or already answered
            return
        self._reply(202, {"status": "OK"})

    def _request_id(self) -> str:
        match = RESPONSE_RE.match(self.path)
        return match.group(1) if match else ""


class RuntimeAPIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int = 0) -> None:
        self.registry = Registry()
        super().__init__((host, port), Handler)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True, name="runtime-api").start()
