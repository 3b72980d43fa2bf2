"""The Lambda Runtime API (2018-06-01), served on the host side of the functions' bridge.

A container's runtime reaches it through AWS_LAMBDA_RUNTIME_API. The caller is known by
its address on the bridge: each address belongs to one execution environment, which can
fetch and answer only its own invocations; anything else is refused with 403.
"""
from __future__ import annotations

import json
import logging
import re
import socketserver
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING

from .environment import EnvironmentGone

if TYPE_CHECKING:
    from .environment import Delivery, Environment

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


class Handler(socketserver.StreamRequestHandler):
    """One runtime's keep-alive connection: a loop of small HTTP/1.1 requests.

    A hand-rolled parser: the runtime sends a request line, a few headers and a body of
    known length, and the stdlib's general-purpose one costs more than the invocation.
    """

    disable_nagle_algorithm = True
    server: "RuntimeAPIServer"

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline(8193)
            if not request_line:
                return
            try:
                method, path, _version = request_line.decode("latin-1").split()
            except ValueError:
                self._reply(400, {"errorMessage": "Bad request", "errorType": "BadRequest"}, close=True)
                return
            headers: dict[str, str] = {}
            while True:
                line = self.rfile.readline(8193)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            self.headers = headers
            self.path = path
            self.close_connection = headers.get("connection", "").lower() == "close"
            if method == "GET":
                self.do_GET()
            elif method == "POST":
                self.do_POST()
            else:
                self._body()
                self._reply(405, {"errorMessage": "Method not allowed", "errorType": "MethodNotAllowed"})
            if self.close_connection:
                return

    def _reply(self, status: int, body: dict | bytes = b"", headers: dict[str, str] | None = None,
               close: bool = False) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json",
                f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if close:
            head.append("Connection: close")
        # Headers and body in one write: no small-packet stalls on the hot path.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    def _forbidden(self) -> None:
        self._reply(403, {"errorMessage": "Forbidden", "errorType": "Forbidden"})

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._chunked_body()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0
        if length > MAX_RESPONSE:
            # Drain so the connection stays usable, then refuse.
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return None
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                chunk = 0
            if chunk == 0:
                while self.rfile.readline(8193) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            size += chunk
            data = self.rfile.read(chunk)
            self.rfile.readline(8)  # the CRLF after each chunk
            if size <= MAX_RESPONSE:
                parts.append(data)
        return b"".join(parts) if size <= MAX_RESPONSE else None

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return
        env = self.server.registry.lookup(self.client_address[0], wait=REGISTRATION_WAIT)
        if env is None:
            self._forbidden()
            return
        try:
            delivery = env.next_invocation(self)
        except EnvironmentGone:
            self.close_connection = True
            self._reply(410, {"errorMessage": "Environment stopped", "errorType": "Gone"}, close=True)
            return
        if delivery is not None:
            self.deliver(delivery)
        # Otherwise the long poll is parked: the invoking thread calls deliver() when there
        # is work, while this thread goes back to reading the runtime's next request.

    def deliver(self, delivery: "Delivery") -> None:
        try:
            self._reply(200, delivery.payload, delivery.headers)
        except OSError:
            pass  # the runtime went away; its environment notices the exit

    def do_POST(self) -> None:
        body = self._body()
        env = self.server.registry.lookup(self.client_address[0], wait=REGISTRATION_WAIT)
        if env is None:
            self._forbidden()
            return
        if body is None:
            env.response_too_large(self._request_id())
            self._reply(413, {"errorMessage": "Payload too large", "errorType": "RequestEntityTooLarge"})
            return
        if self.path == f"{PREFIX}/init/error":
            env.init_error(body, self.headers.get("lambda-runtime-function-error-type", ""))
            self._reply(202, {"status": "OK"})
            return
        match = RESPONSE_RE.match(self.path)
        if not match:
            self._reply(404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return
        request_id, kind = match.groups()
        error_type = self.headers.get("lambda-runtime-function-error-type", "") if kind == "error" else None
        if not env.complete(request_id, body, error_type):
            self._forbidden()  # not this environment's invocation, or already answered
            return
        self._reply(202, {"status": "OK"})

    def _request_id(self) -> str:
        match = RESPONSE_RE.match(self.path)
        return match.group(1) if match else ""


class RuntimeAPIServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int = 0) -> None:
        self.registry = Registry()
        super().__init__((host, port), Handler)

    @property
    def address(self) -> str:
        """host:port, as AWS_LAMBDA_RUNTIME_API gives it to a runtime."""
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True, name="runtime-api").start()
