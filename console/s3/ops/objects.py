"""Object operations: PutObject, GetObject, HeadObject, DeleteObject (S3 API reference, one page
each); DeleteObjects, CopyObject and object tagging live beside this module and are named here
for the router."""
from __future__ import annotations

from django.conf import settings

from .. import storage
from ..models import S3Object
from ..services import events
from ..services.conditions import byte_range, check_conditions, part_range
from ..services.names import check_key
from ..services.objects import (object_at, object_delete, object_open, object_store, read_range,
                               write_condition)
from ..wire import body, checksums
from ..wire.app import run
from ..wire.errors import EntityTooLarge, S3Error
from ..wire.request import S3Request
from ..wire.response import S3Response, empty
from ..wire.xml import http_date
from .attributes import request_attributes
from .common import bucket_for, source_ip
from .copying import copy_object  # noqa: F401 - routed here (routing.OPERATIONS)
from .deleting import delete_objects  # noqa: F401
from .tagging import delete_object_tagging, get_object_tagging, put_object_tagging  # noqa: F401

# GetObject/HeadObject's response-* query parameters and the headers they replace.
OVERRIDES = {"response-content-type": "Content-Type", "response-content-language": "Content-Language",
             "response-expires": "Expires", "response-cache-control": "Cache-Control",
             "response-content-disposition": "Content-Disposition",
             "response-content-encoding": "Content-Encoding"}


async def put_object(req: S3Request) -> S3Response:
    # Everything the headers can refuse is refused before a byte is read or stored.
    check_key(req.key or "")
    limit = settings.LAMBDA_S3_MAX_OBJECT_SIZE
    if (req.content_length or 0) > limit:
        raise EntityTooLarge(ProposedSize=str(req.content_length), MaxSizeAllowed=str(limit))
    attributes = request_attributes(req)
    condition = write_condition(req.headers, req.key)
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    hashers = checksums.requested(req)
    with storage.BlobWriter(hashers=hashers) as writer:
        async for chunk in body.payload(req):
            writer.write(chunk)
            if writer.size > limit:
                raise EntityTooLarge(MaxSizeAllowed=str(limit))
        extra = checksums.verify(req, hashers)
        change = events.Change("ObjectCreated:Put", req.key, writer.size, writer.etag, req.principal,
                               source_ip(req), req.request_id)
        obj = await run(object_store, bucket, req.key, writer, attributes, change, extra=extra,
                        precondition=condition)
    return empty(200, {"ETag": f'"{obj.etag}"', **checksums.response_headers(obj, req, always=True)})


def object_headers(obj: S3Object, req: S3Request | None = None, whole: bool = True) -> dict[str, str]:
    """The headers GetObject and HeadObject describe an object with (`whole`: not a range)."""
    headers = {"ETag": f'"{obj.etag}"', "Last-Modified": http_date(obj.last_modified),
               "Content-Type": obj.content_type, "Accept-Ranges": "bytes"}
    for name, field in (("Content-Encoding", "content_encoding"), ("Content-Disposition", "content_disposition"),
                        ("Content-Language", "content_language"), ("Cache-Control", "cache_control"),
                        ("Expires", "expires")):
        if value := getattr(obj, field):
            headers[name] = value
    for name, value in obj.metadata.items():
        headers[f"x-amz-meta-{name}"] = value
    if obj.tags:
        headers["x-amz-tagging-count"] = str(len(obj.tags))
    if obj.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = obj.storage_class
    if req is not None:
        if whole:  # a range's bytes have no stored checksum
            headers.update(checksums.response_headers(obj, req))
        for parameter, name in OVERRIDES.items():
            if parameter in req.query:
                headers[name] = req.query[parameter]
    return headers


def _ranged(obj: S3Object, req: S3Request) -> tuple[int, dict[str, str], int, int]:
    """Status, headers and the byte span a GET or HEAD of `obj` answers with."""
    if "partNumber" in req.query:
        span = part_range(obj, req.query["partNumber"], req.headers.get("range"))
    else:
        span = byte_range(req.headers.get("range"), obj.size)
    headers = object_headers(obj, req, whole=span is None)
    if obj.parts_count and "partNumber" in req.query:
        headers["x-amz-mp-parts-count"] = str(obj.parts_count)
    if span is None:
        return 200, headers, 0, obj.size - 1
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
    return 206, headers, start, end


async def get_object(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetObject", req.key)
    obj, handle = await run(object_open, bucket, req.key or "", req.headers)
    try:
        status, headers, start, end = _ranged(obj, req)
    except S3Error:
        handle.close()
        raise
    return S3Response(status, headers, read_range(handle, start, end), length=end - start + 1)


def _head(bucket, req: S3Request):
    obj = object_at(bucket, req.key or "")
    check_conditions(obj, req.headers)
    return obj


async def head_object(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetObject", req.key)
    obj = await run(_head, bucket, req)
    status, headers, start, end = _ranged(obj, req)
    headers["Content-Length"] = str(end - start + 1)
    return empty(status, headers)


async def delete_object(req: S3Request) -> S3Response:
    # No error for a key that is not there: S3 answers 204 all the same.
    bucket = await bucket_for(req, "s3:DeleteObject", req.key)
    change = events.Change("ObjectRemoved:Delete", req.key or "", principal=req.principal,
                           source_ip=source_ip(req), request_id=req.request_id)
    await run(object_delete, bucket, req.key or "", change)
    return empty(204)
