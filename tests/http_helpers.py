"""Plain HTTP for the trigger tests, and an unmodified AWS-style handler to call."""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

# Written for AWS Lambda, unchanged: it echoes the event, answers in the response-object shape.
AWS_HANDLER = '''
import base64
import json
import time


def lambda_handler(event, context):
    path = event["rawPath"]
    if path.endswith("/binary"):
        data = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(data[::-1]).decode()}
    if path.endswith("/fail"):
        raise RuntimeError("boom")
    if path.endswith("/malformed"):
        return {"statusCode": "two hundred", "body": "x"}
    if path.endswith("/bad-base64"):
        return {"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"}
    if path.endswith("/marshal"):
        return {"statusCode": 200, "body": object()}
    if path.endswith("/plain"):
        return {"hello": "world"}
    if path.endswith("/sleep"):
        time.sleep(5)
    if path.endswith("/hop"):
        return {"statusCode": 201, "headers": {"Connection": "close", "Transfer-Encoding": "chunked",
                                               "Access-Control-Allow-Origin": "https://evil.example", "X-Ok": "1"},
                "body": "ok"}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
        "body": json.dumps({"message": "hello", "event": event}),
    }
'''


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    @property
    def event(self) -> dict:
        return self.json()["event"]


def request(method: str, url: str, body: bytes | None = None, headers: list[tuple[str, str]] | None = None,
            timeout: float = 60) -> Reply:
    """One request; headers as a list so a header can repeat."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        has_host = any(name.lower() == "host" for name, _ in headers or [])
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""), skip_host=has_host,
                        skip_accept_encoding=True)
        for name, value in headers or []:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()
