"""What every operation does first: find the bucket and check the caller may act on it."""
from __future__ import annotations

from ..models import Bucket
from ..services.buckets import bucket_named
from ..wire import access
from ..wire.app import run
from ..wire.errors import NoSuchBucket
from ..wire.request import NOT_READ, S3Request


def _bucket_for(req: S3Request, action: str, key: str | None) -> Bucket:
    bucket = bucket_named(req.bucket or "")
    access.check(req.principal, action, bucket, key)
    return bucket


async def bucket_for(req: S3Request, action: str, key: str | None = None) -> Bucket:
    """The request's bucket, once `action` is allowed on it (NoSuchBucket, AccessDenied otherwise)."""
    record = req.bucket_record
    if record is not NOT_READ and req.principal is not None and not req.principal.is_role:
        # Read with the authentication (wire/app.py), and a user's key needs no policy read:
        # no hop to the thread pool. Role sessions' policies are read from the database.
        if record is None:
            raise NoSuchBucket(BucketName=req.bucket or "")
        access.check(req.principal, action, record, key)
        return record
    return await run(_bucket_for, req, action, key)


def source_ip(req: S3Request) -> str:
    client = req.scope.get("client") or ("127.0.0.1", 0)
    return client[0]
