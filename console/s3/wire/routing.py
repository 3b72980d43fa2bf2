"""Which S3 operation a request is: method, bucket, key and subresource, as the S3 API reference lays them out.

Each operation is an async function `op(req: S3Request) -> S3Response` in an `ops` module,
named in OPERATIONS; an operation not served (or a subresource we do not know) is
S3's NotImplemented (501), so an SDK tells "not here" from "failed".
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Awaitable, Callable

from .errors import MethodNotAllowed, NotImplementedError_
from .request import S3Request

# Subresources that name another operation than the object's or the bucket's own.
_BUCKET = {
    ("GET", "location"): "GetBucketLocation",
    ("GET", "notification"): "GetBucketNotificationConfiguration",
    ("PUT", "notification"): "PutBucketNotificationConfiguration",
    ("GET", "uploads"): "ListMultipartUploads",
    ("POST", "delete"): "DeleteObjects",
    ("GET", "tagging"): "GetBucketTagging",
    ("PUT", "tagging"): "PutBucketTagging",
    ("DELETE", "tagging"): "DeleteBucketTagging",
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "acl"): "GetBucketAcl",
    ("GET", "policy"): "GetBucketPolicy",
    ("GET", "cors"): "GetBucketCors",
    ("GET", "encryption"): "GetBucketEncryption",
    ("GET", "ownershipControls"): "GetBucketOwnershipControls",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("GET", "website"): "GetBucketWebsite",
    ("GET", "lifecycle"): "GetBucketLifecycleConfiguration",
    ("GET", "logging"): "GetBucketLogging",
    ("GET", "replication"): "GetBucketReplication",
    ("GET", "object-lock"): "GetObjectLockConfiguration",
    ("GET", "accelerate"): "GetBucketAccelerateConfiguration",
    ("GET", "requestPayment"): "GetBucketRequestPayment",
}
_OBJECT = {
    ("GET", "tagging"): "GetObjectTagging",
    ("PUT", "tagging"): "PutObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging",
    ("GET", "uploadId"): "ListParts",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("POST", "uploads"): "CreateMultipartUpload",
    ("GET", "acl"): "GetObjectAcl",
    ("GET", "attributes"): "GetObjectAttributes",
}
# Query parameters that are options, not subresources.
_OPTIONS = {"list-type", "prefix", "delimiter", "marker", "max-keys", "continuation-token", "start-after",
            "fetch-owner", "encoding-type", "key-marker", "upload-id-marker", "max-uploads", "max-parts",
            "part-number-marker", "partNumber", "versionId", "x-id", "response-content-type",
            "response-content-disposition", "response-content-encoding", "response-content-language",
            "response-cache-control", "response-expires", "bucket-region",
            "max-buckets", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
            "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature",
            "Expires", "x-amz-security-token", "X-Amz-Content-Sha256", "x-amz-checksum-mode",
            "optional-object-attributes"}

OPERATIONS: dict[str, str] = {
    "ListBuckets": "buckets", "CreateBucket": "buckets", "HeadBucket": "buckets", "DeleteBucket": "buckets",
    "GetBucketLocation": "buckets", "GetBucketVersioning": "buckets", "GetBucketTagging": "buckets",
    "PutBucketTagging": "buckets", "DeleteBucketTagging": "buckets",
    "PutObject": "objects", "GetObject": "objects", "HeadObject": "objects", "DeleteObject": "objects",
    "DeleteObjects": "objects", "CopyObject": "objects",
    "GetObjectTagging": "objects", "PutObjectTagging": "objects", "DeleteObjectTagging": "objects",
    "ListObjects": "listing", "ListObjectsV2": "listing",
    "CreateMultipartUpload": "multipart", "UploadPart": "multipart", "UploadPartCopy": "multipart",
    "CompleteMultipartUpload": "multipart", "AbortMultipartUpload": "multipart",
    "ListMultipartUploads": "multipart", "ListParts": "multipart",
    "GetBucketNotificationConfiguration": "notifications", "PutBucketNotificationConfiguration": "notifications",
}


def operation_of(req: S3Request) -> str:
    method = req.method
    subresources = [name for name in req.query if name not in _OPTIONS]
    if req.bucket is None:
        if method == "GET" and not subresources:
            return "ListBuckets"
        raise MethodNotAllowed(Method=method, ResourceType="SERVICE")
    if req.key is None:
        for name in subresources:
            if (method, name) in _BUCKET:
                return _BUCKET[(method, name)]
        if subresources:
            raise NotImplementedError_()
        if method == "GET":
            return "ListObjectsV2" if req.query.get("list-type") == "2" else "ListObjects"
        plain = {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}
        if method in plain:
            return plain[method]
        raise MethodNotAllowed(Method=method, ResourceType="BUCKET")
    copying = "x-amz-copy-source" in req.headers
    if method == "PUT" and "uploadId" in req.query:  # a part: ?partNumber=N&uploadId=ID
        return "UploadPartCopy" if copying else "UploadPart"
    for name in subresources:
        if (method, name) in _OBJECT:
            return _OBJECT[(method, name)]
    if subresources:
        raise NotImplementedError_()
    if method == "PUT":
        return "CopyObject" if copying else "PutObject"
    plain = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
    if method in plain:
        return plain[method]
    raise MethodNotAllowed(Method=method, ResourceType="OBJECT")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@lru_cache(maxsize=None)
def handler(operation: str) -> Callable[[S3Request], Awaitable]:
    """The operation's function: `ops.<module>.<snake_case name>` (PutObject: ops.objects.put_object)."""
    module = OPERATIONS.get(operation)
    function = getattr(importlib.import_module(f"console.s3.ops.{module}"), _snake(operation), None) if module else None
    if function is None:
        raise NotImplementedError_(f"{operation} is not implemented here.")
    return function
