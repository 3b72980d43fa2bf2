"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject, tagging."""
from __future__ import annotations

from django.conf import settings

from .. import storage
from ..models import S3Object
from ..services import events
from ..services.names import check_key
from ..services.objects import object_at, object_store
from ..wire import body, checksums, chunked
from ..wire.app import run
from ..wire.errors import EntityTooLarge
from ..wire.request import S3Request
from ..wire.response import S3Response, empty
from ..wire.xml import http_date
from .common import bucket_for, source_ip


def _attributes(req: S3Request) -> dict:
    headers = req.headers
    return {
        "content_type": headers.get("content-type", "binary/octet-stream"),
        "content_encoding": chunked.content_encoding(headers.get("content-encoding", "")),
        "content_disposition": headers.get("content-disposition", ""),
        "content_language": headers.get("content-language", ""),
        "cache_control": headers.get("cache-control", ""),
        "expires": headers.get("expires", ""),
        "metadata": {name[len("x-amz-meta-"):]: value for name, value in headers.items()
                     if name.startswith("x-amz-meta-")},
    }


async def put_object(req: S3Request) -> S3Response:
    check_key(req.key or "")
    limit = settings.LAMBDA_S3_MAX_OBJECT_SIZE
    if (req.content_length or 0) > limit:
        raise EntityTooLarge(ProposedSize=str(req.content_length), MaxSizeAllowed=str(limit))
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
        obj = await run(object_store, bucket, req.key, writer, _attributes(req), change, extra=extra)
    return empty(200, {"ETag": f'"{obj.etag}"', **checksums.response_headers(obj, req, always=True)})


def object_headers(obj: S3Object) -> dict[str, str]:
    headers = {"ETag": f'"{obj.etag}"', "Last-Modified": http_date(obj.last_modified),
               "Content-Type": obj.content_type, "Accept-Ranges": "bytes"}
    for name, field in (("Content-Encoding", "content_encoding"), ("Content-Disposition", "content_disposition"),
                        ("Content-Language", "content_language"), ("Cache-Control", "cache_control"),
                        ("Expires", "expires")):
        if value := getattr(obj, field):
            headers[name] = value
    for name, value in obj.metadata.items():
        headers[f"x-amz-meta-{name}"] = value
    return headers


async def get_object(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetObject", req.key)
    obj = await run(object_at, bucket, req.key or "")
    headers = {**object_headers(obj), **checksums.response_headers(obj, req)}
    return S3Response(200, headers, storage.iter_blob(obj.blob), length=obj.size)
