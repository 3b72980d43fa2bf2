"""Requests signed for another AWS service than Lambda, answered in that service's own shape.

An SDK pointed at this server for S3, SQS, STS... (say, AWS_ENDPOINT_URL set for every
service) would otherwise reach the console's pages and get its HTML CSRF page, which no SDK
can parse, or worse a retry. The service is read from the SigV4 credential scope
(`<key>/<date>/<region>/<service>/aws4_request`, in the Authorization header or a presigned
URL's X-Amz-Credential; a signature version 2 request is S3's), and the error is written in
the wire format that service's clients parse, with a status the SDKs do not retry:

- S3 (restXml): `<Error><Code>NotImplemented</Code>...`, 501, S3's code for "a header you
  provided implies functionality that is not implemented" (S3 API reference, "Error responses").
- JSON protocols (a request carrying X-Amz-Target or an application/x-amz-json body: DynamoDB,
  EventBridge, CloudWatch Logs, SQS today): `{"__type": "UnknownOperationException", ...}`,
  404, as AWS's "Common Errors" page lists it.
- query protocols (form bodies with Action=: IAM, STS, SNS): `<ErrorResponse><Error><Type>Sender
  </Type><Code>InvalidAction</Code>...`, 400, also from "Common Errors".

Nothing is read beyond a small prefix of the body and nothing is created.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

logger = logging.getLogger(__name__)

SERVED = "lambda"
BODY_PEEK = 64 * 1024  # enough to find a query request's Action=
_SCOPE_RE = re.compile(r"^[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request$")
_HEADER_CREDENTIAL_RE = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)")


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def service_of(scope: dict) -> str | None:
    """The service a SigV4-signed request is meant for, when that is not Lambda."""
    authorization = _header(scope, b"authorization")
    raw_query = scope.get("query_string", b"")
    query = {}
    if b"X-Amz-Credential=" in raw_query or b"AWSAccessKeyId=" in raw_query:  # most requests: not parsed
        try:
            query = parse_qs(raw_query.decode("latin-1"), max_num_fields=100)
        except ValueError:
            return None
    if authorization.startswith("AWS ") or ("AWSAccessKeyId" in query and "Signature" in query):
        return "s3"  # signature version 2, which only S3 still takes (boto3 presigns S3 URLs with it)
    if header := _HEADER_CREDENTIAL_RE.match(authorization):
        credential = header.group(1)
    else:  # a presigned URL
        credential = (query.get("X-Amz-Credential") or [""])[0]
    match = _SCOPE_RE.match(credential)
    if match is None:
        return None
    service = match.group(1)
    return None if service == SERVED else service


def _protocol(scope: dict, service: str) -> str:
    if service in ("s3", "s3-object-lambda", "s3express"):
        return "s3"
    content_type = _header(scope, b"content-type").lower()
    if _header(scope, b"x-amz-target") or content_type.startswith(("application/x-amz-json", "application/json")):
        return "json"
    return "query"


def _action(scope: dict, body: bytes, protocol: str) -> str:
    """The operation the client asked for, as far as the request says it."""
    if protocol == "json" and (target := _header(scope, b"x-amz-target")):
        return target.rsplit(".", 1)[-1]
    if protocol == "query":
        for source in (scope.get("query_string", b""), body):
            try:
                action = parse_qs(source.decode("utf-8"), max_num_fields=200).get("Action")
            except (UnicodeDecodeError, ValueError):
                action = None
            if action:
                return action[0]
    return f"{scope.get('method', '')} {scope.get('path', '')}"


def foreign_error(scope: dict, body: bytes, service: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of the error for a request meant for `service`."""
    request_id = str(uuid.uuid4())
    protocol = _protocol(scope, service)
    action = re.sub(r"[^\x20-\x7e]", "?", _action(scope, body, protocol))[:200]  # it goes into the log
    message = (f"This endpoint serves AWS Lambda only; the {service} service is not available here "
               f"(operation {action}).")
    headers = [(b"x-amzn-RequestId", request_id.encode()), (b"x-amz-request-id", request_id.encode())]
    if protocol == "s3":
        status, code = 501, "NotImplemented"
        payload = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                   f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
                   f"<Resource>{escape(scope.get('path', ''))}</Resource><RequestId>{request_id}</RequestId></Error>")
        content_type = b"application/xml"
    elif protocol == "json":
        status, code = 404, "UnknownOperationException"
        payload = json.dumps({"__type": code, "message": message})
        asked = _header(scope, b"content-type").lower()
        content_type = b"application/x-amz-json-1.0" if "x-amz-json-1.0" in asked else (
            b"application/json" if asked.startswith("application/json") else b"application/x-amz-json-1.1")
        # SQS's JSON clients read the query-compatible code from this header.
        headers += [(b"x-amzn-ErrorType", code.encode()), (b"x-amzn-query-error", f"{code};Sender".encode())]
    else:
        status, code = 400, "InvalidAction"
        payload = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                   f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}"
                   f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        content_type = b"text/xml"
    logger.info("refused a request for %s (%s) with %s %s", service, action, status, code)
    content = payload.encode()
    headers += [(b"Content-Type", content_type), (b"Content-Length", str(len(content)).encode())]
    return status, headers, content


async def answer(service: str, scope: dict, receive, send) -> None:
    """Serve a request meant for another service: an ASGI app of its own for console/fastpath.py."""
    chunks, size, more = [], 0, True
    while more and size < BODY_PEEK:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    status, headers, content = foreign_error(scope, b"".join(chunks)[:BODY_PEEK], service)
    if more:
        headers.append((b"Connection", b"close"))  # the rest of the body is never read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else content})
