"""Bucket operations: CreateBucket, ListBuckets, HeadBucket, DeleteBucket, GetBucketLocation."""
from __future__ import annotations

from django.conf import settings

from ..models import Bucket
from ..services.buckets import bucket_create
from ..wire import access, body
from ..wire.app import run
from ..wire.request import S3Request
from ..wire.response import S3Response, empty, xml_response
from ..wire.xml import el, els, parse, text


async def create_bucket(req: S3Request) -> S3Response:
    document = await body.read_all(req, 64 * 1024)
    region = settings.LAMBDA_REGION
    if document.strip():
        config = parse(document, "CreateBucketConfiguration")
        region = text(config, "LocationConstraint") or region
    await run(access.check, req.principal, "s3:CreateBucket", None, bucket_name=req.bucket)
    bucket = await run(bucket_create, req.principal.account, req.bucket or "", region)
    return empty(200, {"Location": f"/{bucket.name}"})


def _buckets(account) -> list[Bucket]:
    return list(Bucket.objects.filter(account=account).order_by("name"))


async def list_buckets(req: S3Request) -> S3Response:
    await run(access.check, req.principal, "s3:ListAllMyBuckets", None)
    buckets = await run(_buckets, req.principal.account)
    owner = els("Owner", [el("ID", req.principal.account.account_id), el("DisplayName", req.principal.account.account_id)])
    items = els("Buckets", (els("Bucket", [el("Name", b.name), el("CreationDate", b.created),
                                           el("BucketRegion", b.region)]) for b in buckets))
    return xml_response("ListAllMyBucketsResult", owner + items)
