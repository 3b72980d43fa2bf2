"""A function's answer as an HTTP response, by the rules of payload format 2.0, and CORS."""
from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from http.cookies import SimpleCookie

from django.http import HttpRequest, HttpResponse

from .cookies import may_set

log = logging.getLogger(__name__)

# Never passed on from a function's headers: hop-by-hop headers (RFC 9110 section 7.6.1)
# and those the server itself must own for the response to be framed correctly.
DROPPED_HEADERS = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                   "te", "trailer", "trailers", "transfer-encoding", "upgrade", "content-length", "host",
                   "date", "server"}
TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
FORBIDDEN_VALUE_RE = re.compile(r"[\x00\r\n]")


class Malformed(ValueError):
    """The function answered with a response object API Gateway would refuse."""


class _RawCookie(str):
    def output(self, header: str = "Set-Cookie:") -> str:
        return f"{header} {self}".strip() if header else str(self)


class _RawCookies(SimpleCookie):
    """Set-Cookie values sent as the function wrote them; Django's handlers ask `values()`."""

    def __init__(self, cookies: list[str]) -> None:
        super().__init__()
        self._raw = [_RawCookie(c) for c in cookies]

    def values(self):  # type: ignore[override]
        return self._raw


def message(status: int, text: str, key: str = "message") -> HttpResponse:
    """API Gateway's own answers: {"message": "..."} with its status."""
    return HttpResponse(json.dumps({key: text}), status=status, content_type="application/json")


def internal_error() -> HttpResponse:
    return message(502, "Internal Server Error")


def _header_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise Malformed(f"header {name} has a {type(value).__name__} value")
    if FORBIDDEN_VALUE_RE.search(value):
        raise Malformed(f"header {name} holds a line break or NUL")
    return value


def structured_response(answer: dict) -> HttpResponse:
    """A response object {statusCode, headers, cookies, body, isBase64Encoded}; raise Malformed."""
    status = answer.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise Malformed(f"statusCode {status!r} is not an HTTP status code")
    headers = answer.get("headers") or {}
    if not isinstance(headers, dict):
        raise Malformed("headers is not an object")
    cookies = answer.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise Malformed("cookies is not a list of strings")
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise Malformed("body is not a string")
    encoded = answer.get("isBase64Encoded", False)
    if encoded not in (True, False, None):
        raise Malformed("isBase64Encoded is not a boolean")
    if encoded and body:
        try:
            content = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("isBase64Encoded is true but the body is not base64")
    else:
        content = (body or "").encode()

    response = HttpResponse(content, status=status)
    del response["Content-Type"]  # only the function's, if it gave one
    raw_cookies = list(cookies)
    for name, value in headers.items():
        if not isinstance(name, str) or not TOKEN_RE.match(name):
            raise Malformed(f"header name {name!r} is not valid")
        value = _header_value(name, value)
        lower = name.lower()
        if lower in DROPPED_HEADERS:
            continue
        if lower == "set-cookie":
            raw_cookies.append(value)
            continue
        response[name] = value
    for cookie in raw_cookies:
        if FORBIDDEN_VALUE_RE.search(cookie) or not cookie.isascii():
            raise Malformed("a cookie holds a line break or a non-ASCII character")
    # The console's cookies share the browser's jar with the trigger listener's (ports do not
    # separate cookies): a function may not set, overwrite or shadow them.
    kept = [cookie for cookie in raw_cookies if may_set(cookie)]
    if len(kept) != len(raw_cookies):
        log.warning("dropped %d Set-Cookie of a function's answer: the console's cookie names or nameless",
                    len(raw_cookies) - len(kept))
        raw_cookies = kept
    if raw_cookies:
        response.cookies = _RawCookies(raw_cookies)
    return response


def function_response(payload: bytes) -> HttpResponse:
    """What the client sees for a function's successful answer; raise Malformed."""
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        raise Malformed("the payload is not JSON")
    if isinstance(answer, dict) and "statusCode" in answer:
        return structured_response(answer)
    # Any other value: 200, and the JSON as the function returned it.
    return HttpResponse(payload or b"null", status=200, content_type="application/json")


# --- CORS ------------------------------------------------------------------------------------

def _origin_allowed(cors: dict, origin: str) -> bool:
    allowed = cors.get("AllowOrigins") or []
    return "*" in allowed or origin in allowed


def _allow_origin_value(cors: dict, origin: str) -> str:
    if "*" in (cors.get("AllowOrigins") or []) and not cors.get("AllowCredentials"):
        return "*"
    return origin


def is_preflight(request: HttpRequest, cors: dict) -> bool:
    return bool(cors) and request.method == "OPTIONS" and bool(request.headers.get("Origin")) \
        and bool(request.headers.get("Access-Control-Request-Method"))


def preflight_response(request: HttpRequest, cors: dict, status: int) -> HttpResponse:
    """The answer to a CORS preflight, made from the configuration without invoking the function."""
    response = HttpResponse(b"", status=status)
    del response["Content-Type"]
    origin = request.headers.get("Origin", "")
    if not _origin_allowed(cors, origin):
        return response
    response["Access-Control-Allow-Origin"] = _allow_origin_value(cors, origin)
    methods = cors.get("AllowMethods") or []
    if methods:
        response["Access-Control-Allow-Methods"] = (
            request.headers.get("Access-Control-Request-Method", "*") if "*" in methods and cors.get(
                "AllowCredentials") else ",".join(methods))
    headers = cors.get("AllowHeaders") or []
    if headers:
        requested = request.headers.get("Access-Control-Request-Headers", "")
        response["Access-Control-Allow-Headers"] = requested if "*" in headers and requested else ",".join(headers)
    if cors.get("MaxAge") is not None:
        response["Access-Control-Max-Age"] = str(cors["MaxAge"])
    if cors.get("AllowCredentials"):
        response["Access-Control-Allow-Credentials"] = "true"
    response["Vary"] = "Origin"
    return response


def apply_cors(request: HttpRequest, response: HttpResponse, cors: dict) -> HttpResponse:
    """The configuration's CORS headers override whatever the function answered."""
    if not cors:
        return response
    for name in [n for n in response.headers if n.lower().startswith("access-control-")]:
        del response[name]
    origin = request.headers.get("Origin", "")
    if origin and _origin_allowed(cors, origin):
        response["Access-Control-Allow-Origin"] = _allow_origin_value(cors, origin)
        if cors.get("ExposeHeaders"):
            response["Access-Control-Expose-Headers"] = ",".join(cors["ExposeHeaders"])
        if cors.get("AllowCredentials"):
            response["Access-Control-Allow-Credentials"] = "true"
        vary = response.get("Vary")
        response["Vary"] = f"{vary}, Origin" if vary and "origin" not in vary.lower() else (vary or "Origin")
    return response
