"""The Lambda Runtime API (2018-06-01), served on the host side of the functions' bridge.

A container's runtime reaches it through AWS_LAMBDA_RUNTIME_API. The caller is known by
its address on the bridge: each address belongs to one execution environment, which can
fetch and answer only its own invocations; anything else is refused with 403.

The code inside a container is untrusted, so every read is bounded: the request line,
the headers (count, line and total size), bodies (6 MB; a chunk declared past it is
refused before a byte of it is read), the time a request may take once begun, and the
connections one environment may hold. A runtime that passes a bound gets a 4xx answer,
its invocation ends with an error and its environment is stopped; the worker, and every
other environment, go on. Only the wait between requests (the long poll of GET /next, a
runtime idle between invocations) has no time limit.
"""
from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Callable

from console.limits import SYNC_PAYLOAD_LIMIT as MAX_RESPONSE

from .environment import EnvironmentGone
from .runtime_wire import Closed, Connection, Violation, response

if TYPE_CHECKING:
    from .environment import Delivery, Environment

log = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
RESPONSE_RE = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")
REGISTRATION_WAIT = 5.0  # a runtime may call before the worker has learned its address

# What one request may hold. Our bootstraps send a handful of short headers.
MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_LINE = 8 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
MAX_CHUNK_LINE = 1024
# A body declared over 6 MB but under this is read and thrown away, so an honest runtime's
# oversized answer leaves its connection (and environment) usable; past it, refused unread.
DRAIN_LIMIT = 16 * 1024 * 1024
CONNECTIONS_PER_ENVIRONMENT = 16  # a runtime needs one or two
TOO_LARGE = "Function.ResponseSizeTooLarge"


class Registry:
    """Bridge address -> execution environment."""

    def __init__(self, on_remove: Callable[[str], None] | None = None) -> None:
        self._by_ip: dict[str, Environment] = {}
        self._changed = threading.Condition()
        self.on_remove = on_remove

    def add(self, ip: str, env: "Environment") -> None:
        with self._changed:
            self._by_ip[ip] = env
            self._changed.notify_all()

    def remove(self, ip: str, env: "Environment") -> None:
        with self._changed:
            removed = self._by_ip.get(ip) is env
            if removed:
                del self._by_ip[ip]
        if removed and self.on_remove is not None:
            self.on_remove(ip)  # its connections go too: nobody may speak for it any more

    def lookup(self, ip: str, wait: float = 0.0) -> "Environment | None":
        with self._changed:
            env = self._by_ip.get(ip)
            if env is None and wait:
                self._changed.wait_for(lambda: ip in self._by_ip, timeout=wait)
                env = self._by_ip.get(ip)
            return env


class Handler(socketserver.BaseRequestHandler):
    """One runtime's keep-alive connection: a loop of small HTTP/1.1 requests.

    A hand-rolled parser: the runtime sends a request line, a few headers and a body of
    known length, and the stdlib's general-purpose one costs more than the invocation.
    """

    server: "RuntimeAPIServer"

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = Connection(self.request)
        self.ip = self.client_address[0]
        self.accepted_at = time.monotonic()
        self.env: Environment | None = None  # the environment this connection speaks for
        self.headers: dict[str, str] = {}
        self.path = ""
        self.close_connection = False

    def handle(self) -> None:
        while self.conn.wait_for_request():
            try:
                self._one_request()
            except Violation as violation:
                self._refuse(violation)
                return
            except (Closed, OSError):
                return
            if self.close_connection:
                return

    def _one_request(self) -> None:
        head = self.conn.take_head(MAX_HEADER_BYTES, MAX_HEADERS + 1, MAX_HEADER_LINE - 2)
        if head is None:  # not all here yet, or out of bounds: line by line, each bound checked
            request_line = self.conn.readline(MAX_REQUEST_LINE, "request line")
            self.headers = self._headers()
        else:
            request_line = head[0]
            self.headers = self._header_fields(head[1:])
        try:
            method, path, _version = request_line.decode("latin-1").split()
        except ValueError:
            raise Violation(400, "malformed request line")
        self.path = path
        self.close_connection = self.headers.get("connection", "").lower() == "close"
        if method == "GET":
            self.do_GET()
        elif method == "POST":
            self.do_POST()
        else:
            self._body()
            self._reply(405, {"errorMessage": "Method not allowed", "errorType": "MethodNotAllowed"})

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        count = total = 0
        while True:
            line = self.conn.readline(MAX_HEADER_LINE, "header line", 431)
            if line in (b"\r\n", b"\n"):
                return headers
            count += 1
            total += len(line)
            if count > MAX_HEADERS:
                raise Violation(431, f"more than {MAX_HEADERS} headers")
            if total > MAX_HEADER_BYTES:
                raise Violation(431, f"headers over {MAX_HEADER_BYTES} bytes")
            headers.update(self._header_fields([line]))

    @staticmethod
    def _header_fields(lines: list[bytes]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise Violation(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _reply(self, status: int, body: dict | bytes = b"", headers: dict[str, str] | None = None,
               close: bool = False) -> None:
        try:
            self.conn.send(response(status, body, headers, close))
        except TimeoutError:
            raise Violation(408, "the runtime does not read its answers")

    def _refuse(self, violation: Violation) -> None:
        """Answer, then end this connection and the environment behind it."""
        body = {"errorMessage": violation.reason, "errorType": HTTPStatus(violation.status).phrase.replace(" ", "")}
        try:
            self.conn.send(response(violation.status, body, close=True), timeout=1.0)
        except (OSError, TimeoutError):
            pass
        env = self._environment(wait=0.0)
        if env is not None:
            log.warning("Runtime API: refused %s (%s); stopping environment %s", self.ip, violation.reason, env.id[:8])
            env.runtime_api_violation(violation.error_type, violation.reason)

    def _environment(self, wait: float | None = None) -> "Environment | None":
        """The environment behind this connection, if it may speak for one.

        Bridge addresses are reused: a connection opened before an environment existed is
        a leftover of an earlier container at that address (whose runtime may still be
        calling while it is removed), and must never take the new one's events.
        """
        env = self.server.registry.lookup(self.ip, wait=REGISTRATION_WAIT if wait is None else wait)
        if env is None or self.accepted_at < getattr(env, "created_at", 0.0):
            return None
        if self.env is None:
            self.env = env
        return env if env is self.env else None

    def _forbidden(self) -> None:
        self._reply(403, {"errorMessage": "Forbidden", "errorType": "Forbidden"})

    def _body(self) -> bytes | None:
        """The request's body; None when it is over 6 MB but was drained (the connection stays usable)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._chunked_body()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            raise Violation(400, "malformed Content-Length")
        if length < 0:
            raise Violation(400, "malformed Content-Length")
        if length > MAX_RESPONSE:
            if length > DRAIN_LIMIT:
                raise Violation(413, f"a body of {length} bytes declared", TOO_LARGE)
            self.conn.discard(length)
            return None
        return self.conn.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.conn.readline(MAX_CHUNK_LINE, "chunk size line")
            try:
                chunk = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise Violation(400, "malformed chunk size")
            if chunk < 0:
                raise Violation(400, "malformed chunk size")
            if chunk == 0:
                self._headers()  # trailers, under the same bounds as headers
                return b"".join(parts)
            # Refused before a byte of the chunk is read: a chunk is never buffered past 6 MB.
            if size + chunk > MAX_RESPONSE:
                raise Violation(413, f"a chunk of {chunk} bytes declared past the {MAX_RESPONSE}-byte limit",
                                TOO_LARGE)
            parts.append(self.conn.read(chunk))
            size += chunk
            if self.conn.readline(3, "chunk end") not in (b"\r\n", b"\n"):
                raise Violation(400, "malformed chunk end")

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return
        env = self._environment()
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
        # is work, while this thread goes back to waiting for the runtime's next request.

    def deliver(self, delivery: "Delivery") -> None:
        try:
            self.conn.send(response(200, delivery.payload, delivery.headers))
        except TimeoutError:
            # The runtime asked for an event and does not take it: it holds the invoking
            # thread no longer than runtime_wire.SEND_TIMEOUT, and its environment is done.
            self.env.runtime_api_violation("Runtime.ExitError", "the runtime did not read its event")
        except OSError:
            pass  # the runtime went away; its environment notices the exit

    def do_POST(self) -> None:
        body = self._body()
        env = self._environment()
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
    """A thread per connection, with at most CONNECTIONS_PER_ENVIRONMENT per bridge address
    and `max_connections` in all, so no runtime can spend the worker's threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int = 0, max_connections: int | None = None) -> None:
        if max_connections is None:
            from django.conf import settings

            max_connections = settings.LAMBDA_RUNTIME_API_MAX_CONNECTIONS
        self.max_connections = max_connections
        self.registry = Registry(on_remove=self.close_connections)
        self._lock = threading.Lock()
        self._by_ip: dict[str, set[socket.socket]] = {}
        self._ip_of: dict[socket.socket, str] = {}
        self._full_logged_at = 0.0
        super().__init__((host, port), Handler)

    @property
    def address(self) -> str:
        """host:port, as AWS_LAMBDA_RUNTIME_API gives it to a runtime."""
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True, name="runtime-api").start()

    def connection_count(self, ip: str | None = None) -> int:
        with self._lock:
            return len(self._ip_of) if ip is None else len(self._by_ip.get(ip, ()))

    def process_request(self, request: socket.socket, client_address) -> None:
        ip = client_address[0]
        with self._lock:
            if len(self._by_ip.get(ip, ())) >= CONNECTIONS_PER_ENVIRONMENT:
                reason = f"more than {CONNECTIONS_PER_ENVIRONMENT} connections"
            elif len(self._ip_of) >= self.max_connections:
                reason = ""
            else:
                reason = None
                self._by_ip.setdefault(ip, set()).add(request)
                self._ip_of[request] = ip
        if reason is None:
            super().process_request(request, client_address)
            return
        # Turned away on the accepting thread, without a thread of its own.
        if reason:
            env = self.registry.lookup(ip)
            if env is not None:
                log.warning("Runtime API: %s opened %s; stopping environment %s", ip, reason, env.id[:8])
                env.runtime_api_violation("Runtime.ExitError", reason)
        elif time.monotonic() - self._full_logged_at > 60:
            self._full_logged_at = time.monotonic()
            log.warning("Runtime API: %d connections open, turning new ones away", self.max_connections)
        try:
            request.send(response(429, {"errorMessage": "Too many connections", "errorType": "TooManyRequests"},
                                   close=True), socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
        except OSError:
            pass
        super().shutdown_request(request)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._lock:
            ip = self._ip_of.pop(request, None)
            if ip is not None:
                mine = self._by_ip.get(ip)
                if mine is not None:
                    mine.discard(request)
                    if not mine:
                        del self._by_ip[ip]
        super().shutdown_request(request)

    def close_connections(self, ip: str) -> None:
        """Wake the threads serving `ip` (its environment is gone); each then closes its socket."""
        with self._lock:
            sockets = list(self._by_ip.get(ip, ()))
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
