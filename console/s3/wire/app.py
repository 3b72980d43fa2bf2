"""S3 at the one AWS endpoint: an ASGI app, so object bodies stream in and out.

console/fastpath.py hands a request here when its signature is S3's (SigV4 scoped to `s3`,
or SigV2) or its Host names a bucket (`<bucket>.s3.<LAMBDA_S3_DOMAIN>`). Each request is
authenticated, routed to its operation (routing.py) and answered; errors in S3's XML. The
database and blocking file work run on the API's thread pool (`run`), never on the event loop.
"""
from __future__ import annotations

import datetime as dt
import logging
from email.utils import format_datetime
from typing import Any, Callable

from asgiref.sync import sync_to_async

from ...api.base import EXECUTOR
from .. import storage
from ..services import rows
from . import body, daphne_io
from .auth import authenticate
from .errors import InternalError_ as InternalError, S3Error
from .request import S3Request
from .response import S3Response
from .routing import handler, operation_of

log = logging.getLogger(__name__)
SERVER = "AmazonS3"
DRAIN_LIMIT = 1024 * 1024  # a larger unread body is dropped with the connection instead
SMALL_BODY = 256 * 1024  # a streamed body this small is read whole, in one hop to the pool
INLINE_READ = 64 * 1024  # ... or on the event loop itself, from a local file


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call blocking code (the database, files) on the API's thread pool."""
    return await sync_to_async(function, thread_sensitive=False, executor=EXECUTOR)(*args, **kwargs)


def _next_chunk(iterator) -> bytes | None:
    return next(iterator, None)


async def send_response(req: S3Request, response: S3Response, send) -> None:
    headers = {"x-amz-request-id": req.request_id, "x-amz-id-2": req.request_id, "Server": SERVER,
               "Date": format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True), **response.headers}
    content = response.body
    if isinstance(content, (bytes, bytearray)):
        headers.setdefault("Content-Length", str(len(content)))
    elif response.length is not None:
        headers["Content-Length"] = str(response.length)
    if not req.body_consumed and (req.content_length or 0) > DRAIN_LIMIT:
        headers["Connection"] = "close"
    await send({"type": "http.response.start", "status": response.status,
                "headers": [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]})
    head = req.method == "HEAD"
    if isinstance(content, (bytes, bytearray)):
        await send({"type": "http.response.body", "body": b"" if head else bytes(content)})
        return
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    if response.length is not None and response.length <= SMALL_BODY and not hasattr(content, "__anext__"):
        try:  # read whole: a small local file on the loop (one read costs less than a hop to the
            # pool and back, ~150 µs), anything else in one hop, not one per chunk plus the last
            data = b"".join(content) if response.length <= INLINE_READ and storage.is_local() else \
                await run(b"".join, content)
            await send({"type": "http.response.body", "body": data})
        finally:
            _close(content)
        return
    # Streamed: each chunk waits until Twisted's transport has room (daphne_io.Pacer), so a
    # slow client holds ~one chunk of the server's memory, not the rest of the object.
    pacer = daphne_io.Pacer(send)
    try:
        if hasattr(content, "__anext__"):
            async for chunk in content:
                await pacer.ready()
                if pacer.stopped:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            while True:
                await pacer.ready()
                if pacer.stopped or (chunk := await run(_next_chunk, content)) is None:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        pacer.close()
        _close(content)
    await send({"type": "http.response.body", "body": b""})


def _close(content) -> None:
    close = getattr(content, "close", None)
    if close is not None:
        close()


def error_response(exc: S3Error, req: S3Request) -> S3Response:
    headers = {"Content-Type": "application/xml", **exc.headers}
    if exc.status == 304:
        return S3Response(304, exc.headers, b"")
    return S3Response(exc.status, headers, exc.xml(req.request_id))


def admit(req: S3Request):
    """The caller, and the bucket's row read in the same hop (ops/common.py's bucket_for uses it):
    each hop to the pool and back costs ~150 µs of the event loop's time on the benchmark machine."""
    principal = authenticate(req)
    if req.bucket:
        req.bucket_record = rows.bucket_row(req.bucket)
    return principal


async def application(scope: dict, receive, send) -> None:
    req = S3Request.from_scope(scope, receive)
    try:
        req.principal = await run(admit, req)
        req.operation = operation_of(req)
        response = await handler(req.operation)(req)
    except body.ClientGone:
        return
    except S3Error as exc:
        if "Resource" not in exc.fields and exc.code in ("NoSuchKey", "NoSuchBucket", "AccessDenied"):
            exc.fields = {**exc.fields, "Resource": req.resource}
        response = error_response(exc, req)
    except Exception:  # noqa: BLE001 - the net under every operation: S3's InternalError, logged
        log.exception("S3 %s %s failed", req.operation or req.method, req.resource)
        response = error_response(InternalError(), req)
    if not req.body_consumed and (req.content_length or 0) <= DRAIN_LIMIT:
        await body.drain(req)
    await send_response(req, response, send)
