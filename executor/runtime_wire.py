"""A runtime's connection to the Runtime API, read and written within bounds of time.

The socket stays blocking with no timeout, so the wait for a request's first byte (the
long poll of GET /next, a runtime idle between invocations) is unlimited; once a request
has begun, every read waits at most until its deadline (a slow-loris runtime cannot hold
a thread), and writes never block longer than SEND_TIMEOUT (an event is delivered from
the invoking thread, which must not hang on a runtime that stops reading).
"""
from __future__ import annotations

import json
import select
import socket
import threading
import time
from http import HTTPStatus

REQUEST_TIMEOUT = 30.0  # seconds from a request's first byte to its last
SEND_TIMEOUT = 10.0  # seconds a runtime has to take an event or an answer off the wire


class Violation(Exception):
    """A runtime passed one of the bounds: `status` for it, `error_type` for its invocation."""

    def __init__(self, status: int, reason: str, error_type: str = "Runtime.ExitError") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.error_type = error_type


class Closed(Exception):
    """The runtime closed its connection."""


class Connection:
    """A runtime's socket, read through a buffer of our own with a deadline per request.

    The socket itself stays blocking with no timeout, so the wait for a request's first
    byte is unlimited; every later read waits at most until the request's deadline, and
    writes never block (an event is delivered from the invoking thread, which must not
    hang on a runtime that stops reading).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = 0.0
        self.write_lock = threading.Lock()

    def wait_for_request(self) -> bool:
        """Block until the next request begins (False: the connection is closed); start its clock."""
        if not self.buffer:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return False
            if not data:
                return False
            self.buffer += data
        self.deadline = time.monotonic() + REQUEST_TIMEOUT
        return True

    def _fill(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not wait_ready(self.sock, select.POLLIN, remaining):
            raise Violation(408, f"request not complete within {REQUEST_TIMEOUT:.0f} s")
        try:
            data = self.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as exc:
            raise Closed() from exc
        if not data:
            raise Closed()
        self.buffer += data

    def take_head(self, max_bytes: int, max_lines: int, max_line: int) -> list[bytes] | None:
        """The request line and header lines, if the whole head is already buffered and
        within the bounds (the common case: one read per request); else None, and nothing
        is consumed, for the line-by-line path to read or refuse."""
        end = self.buffer.find(b"\r\n\r\n", 0, max_bytes)
        if end < 0:
            return None
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        if len(lines) > max_lines or any(len(line) > max_line for line in lines):
            return None
        del self.buffer[:end + 4]
        return lines

    def readline(self, limit: int, what: str, status: int = 400) -> bytes:
        searched = 0
        while True:
            end = self.buffer.find(b"\n", searched, limit)
            if end >= 0:
                line = bytes(self.buffer[:end + 1])
                del self.buffer[:end + 1]
                return line
            if len(self.buffer) >= limit:
                raise Violation(status, f"{what} over {limit} bytes")
            searched = len(self.buffer)
            self._fill()

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def discard(self, size: int) -> None:
        while size > 0:
            if not self.buffer:
                self._fill()
            taken = min(size, len(self.buffer))
            del self.buffer[:taken]
            size -= taken

    def send(self, data: bytes, timeout: float | None = None) -> None:
        """Write all of `data` within `timeout` (SEND_TIMEOUT) or raise TimeoutError / OSError."""
        timeout = SEND_TIMEOUT if timeout is None else timeout
        with self.write_lock:
            view = memoryview(data)
            deadline = None
            while view:
                try:
                    sent = self.sock.send(view, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
                except BlockingIOError:
                    sent = 0
                view = view[sent:]
                if not view:
                    return
                deadline = deadline or time.monotonic() + timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not wait_ready(self.sock, select.POLLOUT, remaining):
                    raise TimeoutError("the runtime did not read what it was sent")


def wait_ready(sock: socket.socket, event: int, seconds: float) -> bool:
    """Whether `sock` became ready for `event` within `seconds` (poll: no FD_SETSIZE limit)."""
    poller = select.poll()
    poller.register(sock, event)
    return bool(poller.poll(max(1, int(seconds * 1000))))


def response(status: int, body: dict | bytes = b"", headers: dict[str, str] | None = None,
              close: bool = False) -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json",
            f"Content-Length: {len(data)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close:
        head.append("Connection: close")
    # Headers and body in one write: no small-packet stalls on the hot path.
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


