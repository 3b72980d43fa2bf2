"""CopyObject (S3 API reference, "CopyObject"): a server-side copy, answered with CopyObjectResult."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from ..models import S3Object
from ..services import events
from ..services.buckets import bucket_named
from ..services.names import check_key
from ..services.objects import object_copy
from ..services.tags import tags_from_header
from ..wire import access
from ..wire.app import run
from ..wire.errors import InvalidArgument, InvalidRequest
from ..wire.request import S3Request
from ..wire.response import S3Response, xml_response
from ..wire.xml import el
from .attributes import request_attributes, storage_class
from .common import bucket_for, source_ip

SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing the "
             "object's metadata, storage class, website redirect location or encryption attributes.")


def copy_source(value: str) -> tuple[str, str]:
    """(bucket, key) of x-amz-copy-source: `bucket/key` or `/bucket/key`, URL-encoded, with an
    optional `?versionId=`; this store keeps one version, addressed as "null"."""
    path, _, query = value.partition("?")
    bucket, _, key = unquote(path, errors="surrogateescape").lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                              ArgumentName="x-amz-copy-source", ArgumentValue=value)
    if query:
        name, _, version = query.partition("=")
        if name != "versionId" or unquote(version) != "null":
            raise InvalidArgument("Invalid version id specified", ArgumentName="x-amz-copy-source",
                                  ArgumentValue=value)
    return bucket, key


def _directive(req: S3Request, header: str, what: str) -> str:
    value = req.headers.get(header, "COPY").upper()
    if value not in ("COPY", "REPLACE"):
        raise InvalidArgument(f"Unknown {what} directive.", ArgumentName=header, ArgumentValue=value)
    return value


def _source_bucket(req: S3Request, name: str, key: str):
    bucket = bucket_named(name)
    access.check(req.principal, "s3:GetObject", bucket, key)
    return bucket


async def copy_object(req: S3Request) -> S3Response:
    source_name, source_key = copy_source(req.headers["x-amz-copy-source"])
    check_key(req.key or "")
    metadata = _directive(req, "x-amz-metadata-directive", "metadata")
    tagging = _directive(req, "x-amz-tagging-directive", "tagging")
    new_class = storage_class(req)
    if (source_name, source_key) == (req.bucket, req.key) and metadata == "COPY" \
            and "x-amz-storage-class" not in req.headers:
        raise InvalidRequest(SELF_COPY)
    replaced = request_attributes(req) if metadata == "REPLACE" else {}
    new_tags = tags_from_header(req.headers.get("x-amz-tagging", "")) if tagging == "REPLACE" else None
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    source_bucket = await run(_source_bucket, req, source_name, source_key)

    def attributes(source: S3Object) -> dict[str, Any]:
        kept = replaced or {name: getattr(source, name) for name in (
            "content_type", "content_encoding", "content_disposition", "content_language", "cache_control",
            "expires", "metadata")}
        return {**kept, "tags": source.tags if new_tags is None else new_tags, "storage_class": new_class,
                "checksum_algorithm": source.checksum_algorithm}

    change = events.Change("ObjectCreated:Copy", req.key or "", principal=req.principal, source_ip=source_ip(req),
                           request_id=req.request_id)
    obj = await run(object_copy, source_bucket, source_key, bucket, req.key or "", req.headers, attributes, change)
    checksums = "".join(el(f"Checksum{name}", value) for name, value in obj.checksums.items())
    return xml_response("CopyObjectResult", el("ETag", f'"{obj.etag}"') + el("LastModified", obj.last_modified)
                        + (el("ChecksumType", obj.checksum_type) if obj.checksums and obj.checksum_type else "")
                        + checksums)
