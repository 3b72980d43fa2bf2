"""The host side of the Runtime API: routing by caller, and refusing what is not theirs."""
from __future__ import annotations

import http.client
import json
import threading

import pytest

from executor import runtime_api
from executor.environment import Delivery


class FakeEnvironment:
    """Stands in for an execution environment at the server's boundary."""

    def __init__(self) -> None:
        self.request_id = "11111111-2222-3333-4444-555555555555"
        self.answers: list[tuple[str, bytes, str | None]] = []
        self.init_errors: list[bytes] = []
        self.delivered = threading.Event()

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
