"""The payload format 2.0 event that API Gateway HTTP APIs and function URLs send a function."""
from __future__ import annotations

import base64
import secrets
import time
import uuid
from urllib.parse import parse_qsl, quote

from django.http import HttpRequest

from .cookies import request_cookies

# Bodies of these types reach the function as text; any other body is base64, as on AWS
# (form posts included: HTTP APIs and function URLs treat them as binary).
TEXT_TYPES = ("application/json", "application/javascript", "application/ecmascript", "application/xml",
              "application/x-javascript", "application/graphql", "application/yaml", "application/x-yaml")


def request_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers as sent: lowercased names, repeats kept, in order."""
    scope = getattr(request, "scope", None)
    if scope is not None:
        return [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
    return [(name.lower(), value) for name, value in request.headers.items()]


def raw_path(request: HttpRequest, prefix: str) -> str:
    """The path after `prefix` as the client sent it (percent-encoding kept), "/" at least."""
    scope = getattr(request, "scope", None)
    raw = (scope or {}).get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else quote(request.path, safe="/-_.~!$&'()*+,;=:@%")
    if prefix and path.startswith(prefix):
        path = path[len(prefix):]
    return path or "/"


def is_text(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return (mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith("+json") or mime.endswith("+xml"))


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def http_event(request: HttpRequest, *, path: str, route_key: str, api_id: str, account_id: str,
               domain_prefix: str, body: bytes, path_parameters: dict[str, str] | None = None,
               authorizer: dict | None = None, request_id: str | None = None) -> dict:
    """AWS's payload format 2.0 for this request; `path` is the rawPath the function sees."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request_headers(request):
        value = value.encode("latin-1").decode("utf-8", errors="replace")
        if name == "cookie":
            # Cookies travel apart from the headers, one entry per cookie; the console's own
            # (sent along by the browser, since cookies ignore ports) never reach a function.
            cookies.extend(request_cookies(value))
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    source_ip = request.META.get("REMOTE_ADDR") or "127.0.0.1"
    headers["x-forwarded-for"] = f"{headers['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in headers \
        else source_ip
    headers.setdefault("x-forwarded-proto", request.scheme or "http")
    headers.setdefault("x-forwarded-port", str(request.META.get("SERVER_PORT") or "80"))
    headers.setdefault("x-amzn-trace-id", trace_id())

    raw_query = request.META.get("QUERY_STRING", "")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    host = headers.get("host", "").split(":", 1)[0]
    now_ms = int(time.time() * 1000)
    scope = getattr(request, "scope", None) or {}
    context: dict = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host or f"{domain_prefix}.localhost",
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id or str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
        "timeEpoch": now_ms,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer

    event: dict = {"version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        text = None
        if is_text(headers.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def api_request_id() -> str:
    """API Gateway's request ids look like "JKJaXmPLvHcESHA=": base64 of ten random bytes."""
    return base64.b64encode(secrets.token_bytes(10)).decode()
