"""What a request's headers say about the object it writes (PutObject, a REPLACE copy, a
multipart upload): content headers, user metadata, tags and storage class, checked."""
from __future__ import annotations

from ..services.objects import check_metadata
from ..services.tags import tags_from_header
from ..wire import chunked
from ..wire.errors import error
from ..wire.request import S3Request

InvalidStorageClass = error("InvalidStorageClass", 400, "The storage class you specified is not valid")
STORAGE_CLASSES = {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
                   "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"}


def storage_class(req: S3Request) -> str:
    value = req.headers.get("x-amz-storage-class", "STANDARD")
    if value not in STORAGE_CLASSES:
        raise InvalidStorageClass(StorageClassRequested=value)
    return value


def request_attributes(req: S3Request) -> dict:
    """What PutObject's (or a REPLACE copy's) headers say about the object, checked."""
    headers = req.headers
    metadata = {name[len("x-amz-meta-"):]: value for name, value in headers.items() if name.startswith("x-amz-meta-")}
    check_metadata(metadata)
    return {
        "content_type": headers.get("content-type", "binary/octet-stream"),
        "content_encoding": chunked.content_encoding(headers.get("content-encoding", "")),
        "content_disposition": headers.get("content-disposition", ""),
        "content_language": headers.get("content-language", ""),
        "cache_control": headers.get("cache-control", ""),
        "expires": headers.get("expires", ""),
        "metadata": metadata,
        "tags": tags_from_header(headers.get("x-amz-tagging", "")),
        "storage_class": storage_class(req),
    }
