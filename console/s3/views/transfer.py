"""Bytes in and out of the console: an upload streamed into the storage (the browser's XHR, with
its progress events), a download streamed out, and an image's bytes for the preview.

An upload goes through the same rules as PutObject (services/objects.object_store with an
ObjectCreated:Put change), so a bucket's notifications fire exactly as through the API. The
body is read a chunk at a time into a BlobWriter: Daphne and Django spool it to a temporary
file first, so no object is ever held in memory whole. Downloads are an async iterator, which
Django's ASGI handler streams (a sync one it would read into a list first).
"""
from __future__ import annotations

import mimetypes
import posixpath
from typing import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from ...api.base import EXECUTOR
from .. import storage
from ..models import S3Object
from ..services import events
from ..services.names import check_key
from ..services.objects import object_store
from ..wire.errors import EntityTooLarge, S3Error
from . import display
from .common import client_ip, owned_bucket

CHUNK = storage.CHUNK
# Served bytes are the users' own: never run as a page of the console's origin.
SANDBOX = {"Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"}


def _error(exc: S3Error) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": exc.message}, status=exc.status)


def _content_type(request: HttpRequest, key: str) -> str:
    given = request.headers.get("Content-Type", "")
    if given and not given.startswith(("application/x-www-form-urlencoded", "multipart/")):
        return given
    guessed, _ = mimetypes.guess_type(posixpath.basename(key))  # as the S3 console types a file it uploads
    return guessed or "binary/octet-stream"


@require_http_methods(["PUT"])
async def object_upload(request: HttpRequest, name: str) -> JsonResponse:
    """PUT the request's body as the object `?key=` (session and CSRF header, from the browser).

    Copying a large body takes a while: it runs on the API's pool, not on the one thread Django
    gives every sync view, so the console's other pages keep answering meanwhile."""
    if not (await request.auser()).is_authenticated:  # an XHR cannot follow a redirect to the login page
        return JsonResponse({"code": "AccessDenied", "message": "Your session has ended. Log in again."},
                            status=403)
    return await sync_to_async(_upload, thread_sensitive=False, executor=EXECUTOR)(request, name)


def _upload(request: HttpRequest, name: str) -> JsonResponse:
    close_old_connections()
    try:
        bucket = owned_bucket(request, name)
        return _store(request, bucket, request.GET.get("key", ""))
    finally:
        close_old_connections()


def _store(request: HttpRequest, bucket, key: str) -> JsonResponse:
    limit = settings.LAMBDA_S3_MAX_OBJECT_SIZE
    try:
        if not key:
            raise S3Error("Choose a file to upload.", code="InvalidArgument", status=400)
        check_key(key)
        length = int(request.headers.get("Content-Length") or 0)
        if length > limit:
            raise EntityTooLarge(ProposedSize=str(length), MaxSizeAllowed=str(limit))
        with storage.BlobWriter() as writer:
            while chunk := request.read(CHUNK):
                writer.write(chunk)
                if writer.size > limit:
                    raise EntityTooLarge(MaxSizeAllowed=str(limit))
            change = events.Change("ObjectCreated:Put", key, writer.size, writer.etag, None,
                                   client_ip(request))
            obj = object_store(bucket, key, writer, {"content_type": _content_type(request, key)}, change)
    except S3Error as exc:
        return _error(exc)
    return JsonResponse({"key": obj.key, "size": obj.size, "etag": f'"{obj.etag}"'})


async def _stream(blob: str) -> AsyncIterator[bytes]:
    chunks = storage.iter_blob(blob)
    step = sync_to_async(next, thread_sensitive=False, executor=EXECUTOR)
    try:
        while (chunk := await step(chunks, None)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=False, executor=EXECUTOR)()


def _owned_object(request: HttpRequest, name: str) -> S3Object:
    bucket = owned_bucket(request, name)
    obj = S3Object.objects.filter(bucket=bucket, key=request.GET.get("prefix", "")).first()
    if obj is None:
        raise Http404("Object not found")
    return obj


@login_required
@require_GET
def object_download(request: HttpRequest, name: str) -> StreamingHttpResponse:
    obj = _owned_object(request, name)
    response = StreamingHttpResponse(_stream(obj.blob), content_type=obj.content_type or "binary/octet-stream")
    response["Content-Length"] = str(obj.size)
    response["Content-Disposition"] = content_disposition_header(True, posixpath.basename(obj.key) or "download")
    response["ETag"] = f'"{obj.etag}"'
    for header, value in SANDBOX.items():
        response[header] = value
    return response


@login_required
@require_GET
def object_preview(request: HttpRequest, name: str) -> HttpResponse:
    """A raster image's bytes for the <img> of its page; any other type is not served here."""
    obj = _owned_object(request, name)
    if not display.is_image(obj):
        raise Http404("No preview for this type")
    response = StreamingHttpResponse(_stream(obj.blob), content_type=display.media_type(obj.content_type))
    response["Content-Length"] = str(obj.size)
    response["Content-Disposition"] = "inline"
    for header, value in SANDBOX.items():
        response[header] = value
    return response
