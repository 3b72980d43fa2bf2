"""The host side of the Runtime API: routing by caller, and refusing what is not theirs."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from executor import runtime_api, runtime_wire
from executor.environment import Delivery


class FakeEnvironment:
    """Stands in for an execution environment at the server's boundary."""

    def __init__(self) -> None:
        self.request_id = "11111111-2222-3333-4444-555555555555"
        self.answers: list[tuple[str, bytes, str | None]] = []
        self.init_errors: list[bytes] = []
        self.violations: list[tuple[str, str]] = []
        self.delivered = threading.Event()
        self.id = "fake-environment"

    def next_invocation(self, waiter) -> Delivery:
        self.delivered.set()
        return Delivery(b'{"k": 1}', {"Lambda-Runtime-Aws-Request-Id": self.request_id,
                                      "Lambda-Runtime-Deadline-Ms": "1700000000000",
                                      "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:1:function:f",
                                      "Lambda-Runtime-Trace-Id": "Root=1-0-0"})

    def complete(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        if request_id != self.request_id:
            return False
        self.answers.append((request_id, body, error_type))
        return True

    def init_error(self, body: bytes, error_type: str) -> None:
        self.init_errors.append(body)

    def response_too_large(self, request_id: str) -> None:
        self.answers.append((request_id, b"too large", "Function.ResponseSizeTooLarge"))

    def runtime_api_violation(self, error_type: str, reason: str) -> None:
        self.violations.append((error_type, reason))


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(runtime_api, "REGISTRATION_WAIT", 0.05)
    srv = runtime_api.RuntimeAPIServer("127.0.0.1", 0)
    srv.start()
    yield srv
    srv.shutdown()


def request(server, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_unknown_caller_is_forbidden(server):
    status, _, _ = request(server, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 403


def test_next_delivers_the_event_with_aws_headers(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    status, headers, body = request(server, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 200 and json.loads(body) == {"k": 1}
    assert headers["Lambda-Runtime-Aws-Request-Id"] == env.request_id
    for name in ("Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id"):
        assert name in headers


def test_answering_its_own_invocation_is_accepted(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    status, _, _ = request(server, "POST", f"/2018-06-01/runtime/invocation/{env.request_id}/response", b'"ok"')
    assert status == 202 and env.answers == [(env.request_id, b'"ok"', None)]
    status, _, _ = request(server, "POST", f"/2018-06-01/runtime/invocation/{env.request_id}/error",
                           b'{"errorType": "X"}', {"Lambda-Runtime-Function-Error-Type": "X"})
    assert status == 202 and env.answers[-1][2] == "X"


def test_answering_another_invocation_is_forbidden(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    status, _, _ = request(server, "POST", "/2018-06-01/runtime/invocation/someone-else/response", b'"x"')
    assert status == 403 and env.answers == []


def test_init_error_is_reported(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    status, _, _ = request(server, "POST", "/2018-06-01/runtime/init/error", b'{"errorType": "Runtime.X"}')
    assert status == 202 and env.init_errors == [b'{"errorType": "Runtime.X"}']


def test_unknown_paths_are_not_found(server):
    server.registry.add("127.0.0.1", FakeEnvironment())
    assert request(server, "GET", "/2018-06-01/runtime/other")[0] == 404


def test_a_chunked_response_body_is_read(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    conn.request("POST", f"/2018-06-01/runtime/invocation/{env.request_id}/response",
                 body=iter([b'{"a": ', b'1}']), encode_chunked=True)
    assert conn.getresponse().status == 202
    assert env.answers == [(env.request_id, b'{"a": 1}', None)]


def test_a_response_over_6_mb_is_refused(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    status, _, _ = request(server, "POST", f"/2018-06-01/runtime/invocation/{env.request_id}/response",
                           b"x" * (6 * 1024 * 1024 + 1))
    assert status == 413
    assert env.answers[0][2] == "Function.ResponseSizeTooLarge"


# --- Bounds on what a runtime may send (issue 8, hole 4) ----------------------------------

def raw(server, data: bytes, read: bool = True) -> bytes:
    """Send raw bytes on a new connection; what the server answers before closing."""
    sock = socket.create_connection(server.server_address[:2], timeout=5)
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server may refuse and close before reading it all
    answer = b""
    while read:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        answer += chunk
    sock.close()
    return answer


def test_a_chunk_declared_past_6_mb_is_refused_before_it_is_read(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    started = time.monotonic()
    answer = raw(server, f"POST /2018-06-01/runtime/invocation/{env.request_id}/response HTTP/1.1\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n7fffffffffff\r\nxx".encode())
    assert answer.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in answer
    assert time.monotonic() - started < 2
    assert env.violations and env.violations[0][0] == "Function.ResponseSizeTooLarge"


def test_chunks_that_add_up_past_6_mb_are_refused(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    chunk = b"x" * (1024 * 1024)
    body = b"".join(b"100000\r\n" + chunk + b"\r\n" for _ in range(6)) + b"1\r\nx\r\n0\r\n\r\n"
    answer = raw(server, f"POST /2018-06-01/runtime/invocation/{env.request_id}/response HTTP/1.1\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n".encode() + body)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert env.violations[0][0] == "Function.ResponseSizeTooLarge" and env.answers == []


def test_a_header_flood_is_refused(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    flood = b"".join(b"X-Flood-%d: 1\r\n" % i for i in range(100_000))
    answer = raw(server, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n" + flood + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert env.violations == [("Runtime.ExitError", "more than 100 headers")]
    assert not env.delivered.is_set()


def test_a_header_line_or_request_line_too_long_is_refused(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    answer = raw(server, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    answer = raw(server, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert [reason for _, reason in env.violations] == ["header line over 8192 bytes", "request line over 8192 bytes"]


def test_a_request_sent_too_slowly_is_cut_but_an_idle_connection_is_not(server, monkeypatch):
    monkeypatch.setattr(runtime_wire, "REQUEST_TIMEOUT", 0.3)
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    idle = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    idle.connect()
    slow = socket.create_connection(server.server_address[:2], timeout=5)
    slow.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nX-Slow: ")
    assert slow.recv(1024).startswith(b"HTTP/1.1 408 ")  # within the request's deadline, not never
    time.sleep(0.5)  # longer than REQUEST_TIMEOUT, between requests: the long poll may wait that long
    idle.request("GET", "/2018-06-01/runtime/invocation/next")
    assert idle.getresponse().status == 200


def test_connections_per_environment_are_bounded(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    held = [socket.create_connection(server.server_address[:2], timeout=5)
            for _ in range(runtime_api.CONNECTIONS_PER_ENVIRONMENT)]
    time.sleep(0.2)
    extra = socket.create_connection(server.server_address[:2], timeout=5)
    assert extra.recv(1024).startswith(b"HTTP/1.1 429 ")
    assert env.violations == [("Runtime.ExitError", "more than 16 connections")]
    for sock in held:
        sock.close()
    time.sleep(0.2)
    assert server.connection_count("127.0.0.1") == 0


def test_removing_an_environment_closes_its_connections(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    conn = socket.create_connection(server.server_address[:2], timeout=5)
    time.sleep(0.1)
    assert server.connection_count("127.0.0.1") == 1
    server.registry.remove("127.0.0.1", env)
    assert conn.recv(1024) == b""  # closed by the server
    time.sleep(0.1)
    assert server.connection_count() == 0


def test_a_runtime_that_does_not_read_its_event_does_not_hold_the_invoking_thread(server, monkeypatch):
    monkeypatch.setattr(runtime_wire, "SEND_TIMEOUT", 0.5)
    env = FakeEnvironment()
    handler = runtime_api.Handler.__new__(runtime_api.Handler)
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    handler.conn, handler.env = runtime_wire.Connection(a), env
    started = time.monotonic()
    handler.deliver(Delivery(b"x" * (6 * 1024 * 1024), {}))  # b never reads
    assert time.monotonic() - started < 3
    assert env.violations == [("Runtime.ExitError", "the runtime did not read its event")]
    a.close()
    b.close()


def test_requests_split_across_reads_or_with_bare_newlines_are_read(server):
    env = FakeEnvironment()
    server.registry.add("127.0.0.1", env)
    answer = raw(server, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\nConnection: close\n\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    sock = socket.create_connection(server.server_address[:2], timeout=5)
    request = (f"POST /2018-06-01/runtime/invocation/{env.request_id}/response HTTP/1.1\r\n"
               "Content-Length: 4\r\n\r\n\"ok\"").encode()
    for byte in request:  # one byte at a time
        sock.sendall(bytes([byte]))
    assert sock.recv(1024).startswith(b"HTTP/1.1 202 ")
    assert env.answers == [(env.request_id, b'"ok"', None)]
    sock.close()
