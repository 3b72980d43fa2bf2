"""Bucket operations: CreateBucket, ListBuckets, HeadBucket, DeleteBucket, GetBucketLocation,
GetBucketVersioning and bucket tagging (S3 API reference, one page per operation)."""
from __future__ import annotations

from ..models import Bucket
from ..services.buckets import (bucket_create, bucket_delete, bucket_named, bucket_region, bucket_tags_delete,
                                bucket_tags_set)
from ..wire import access, body
from ..wire.app import run
from ..services.listing import marker_of, token_for
from ..wire.errors import InvalidArgument, NoSuchTagSet, S3Error
from ..wire.request import S3Request
from ..wire.response import S3Response, empty, xml_response
from ..wire.xml import el, els, parse, text
from .common import bucket_for
from .tagging import tag_set_xml, tags_from_xml


async def create_bucket(req: S3Request) -> S3Response:
    document = await body.read_all(req, 64 * 1024)
    constraint = None
    if document.strip():
        constraint = text(parse(document, "CreateBucketConfiguration"), "LocationConstraint")
    region = bucket_region(constraint)
    await run(access.check, req.principal, "s3:CreateBucket", None, bucket_name=req.bucket)
    bucket = await run(bucket_create, req.principal.account, req.bucket or "", region)
    return empty(200, {"Location": f"/{bucket.name}"})


def _buckets(account, prefix: str, after: str) -> list[Bucket]:
    return list(Bucket.objects.filter(account=account, name__startswith=prefix, name__gt=after).order_by("name"))


def owner_xml(account) -> str:
    return els("Owner", [el("ID", account.account_id), el("DisplayName", account.account_id)])


async def list_buckets(req: S3Request) -> S3Response:
    await run(access.check, req.principal, "s3:ListAllMyBuckets", None)
    query = req.query
    prefix = query.get("prefix", "")
    limit = _max_buckets(query.get("max-buckets"))
    after = marker_of(query["continuation-token"]) if "continuation-token" in query else ""
    # SQLite's LIKE ignores case; bucket names are lower case, but a prefix may not be.
    buckets = [b for b in await run(_buckets, req.principal.account, prefix, after) if b.name.startswith(prefix)]
    more = len(buckets) > limit
    buckets = buckets[:limit]
    items = els("Buckets", (els("Bucket", [el("Name", b.name), el("CreationDate", b.created),
                                           el("BucketRegion", b.region)]) for b in buckets))
    return xml_response("ListAllMyBucketsResult", items + owner_xml(req.principal.account)
                        + (el("ContinuationToken", token_for(buckets[-1].name)) if more else "")
                        + (el("Prefix", prefix) if "prefix" in query else ""))


def _max_buckets(value: str | None) -> int:
    """ListBuckets' max-buckets: 1 to 10000 (S3 API reference, "ListBuckets"); all of them without it."""
    if value is None:
        return 10000
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise InvalidArgument("Argument max-buckets must be an integer between 1 and 10000.",
                              ArgumentName="max-buckets", ArgumentValue=value)
    return int(value)


async def head_bucket(req: S3Request) -> S3Response:
    # HEAD answers carry no body: 404 for a missing bucket, 403 (with the bucket's region, as
    # S3 says it) for one the caller may not list.
    bucket = await run(bucket_named, req.bucket or "")
    headers = {"x-amz-bucket-region": bucket.region, "x-amz-access-point-alias": "false"}
    try:
        await run(access.check, req.principal, "s3:ListBucket", bucket)
    except S3Error as exc:
        exc.headers = {**exc.headers, "x-amz-bucket-region": bucket.region}
        raise
    return empty(200, headers)


async def delete_bucket(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:DeleteBucket")
    await run(bucket_delete, bucket)
    return empty(204)


async def get_bucket_location(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetBucketLocation")
    # us-east-1 is the empty constraint, as CreateBucket takes it.
    return xml_response("LocationConstraint", "" if bucket.region == "us-east-1" else bucket.region)


async def get_bucket_versioning(req: S3Request) -> S3Response:
    await bucket_for(req, "s3:GetBucketVersioning")
    return xml_response("VersioningConfiguration", "")  # never enabled: no Status at all


async def get_bucket_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:GetBucketTagging")
    if not bucket.tags:
        raise NoSuchTagSet(BucketName=bucket.name)
    return xml_response("Tagging", tag_set_xml(bucket.tags))


async def put_bucket_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:PutBucketTagging")
    tags = tags_from_xml(await body.read_all(req, 256 * 1024))
    await run(bucket_tags_set, bucket, tags)
    return empty(204)


async def delete_bucket_tagging(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:PutBucketTagging")
    await run(bucket_tags_delete, bucket)
    return empty(204)
