"""Buckets: create, find, delete, tag (business rules; the wire is ops/buckets.py)."""
from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from ...models import Account
from .. import storage
from ..models import Bucket, UploadPart
from ..wire.errors import BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket, error
from . import rows
from .names import check_bucket_name
from .tags import check_tags

# CreateBucket's answers to a LocationConstraint this endpoint cannot honour (S3 API reference,
# "CreateBucket" and "List of error codes").
InvalidLocationConstraint = error("InvalidLocationConstraint", 400, "The specified location-constraint is not valid")
IllegalLocationConstraintException = error("IllegalLocationConstraintException", 400,
                                           "The unspecified location constraint is incompatible for the region "
                                           "specific endpoint this request was sent to.")
US_EAST_1 = "us-east-1"


def bucket_named(name: str) -> Bucket:
    bucket = rows.bucket_row(name)  # the ORM's compiler costs more than the query (rows.py)
    if bucket is None:
        raise NoSuchBucket(BucketName=name)
    return bucket


def bucket_region(constraint: str | None) -> str:
    """The region a CreateBucket with this LocationConstraint makes its bucket in, at this endpoint.

    As at a regional S3 endpoint: us-east-1 takes no constraint (naming it is
    InvalidLocationConstraint), every other region must name itself, and a constraint naming
    another region than the endpoint's is IllegalLocationConstraintException.
    """
    region = settings.LAMBDA_REGION
    if constraint is None or constraint == "":
        if region != US_EAST_1:
            raise IllegalLocationConstraintException()
        return region
    if constraint == US_EAST_1 and region == US_EAST_1:
        raise InvalidLocationConstraint(LocationConstraint=constraint)
    if constraint != region:
        raise IllegalLocationConstraintException(
            f"The {constraint} location constraint is incompatible for the region specific endpoint this request "
            "was sent to.")
    return region


def bucket_create(account: Account, name: str, region: str) -> Bucket:
    check_bucket_name(name)
    existing = Bucket.objects.filter(name=name).first()
    if existing is not None:
        raise (BucketAlreadyOwnedByYou if existing.account_id == account.pk else BucketAlreadyExists)(BucketName=name)
    try:
        with transaction.atomic():
            return Bucket.objects.create(name=name, account=account, region=region)
    except IntegrityError:  # created by a concurrent request
        raise BucketAlreadyExists(BucketName=name)


def bucket_delete(bucket: Bucket) -> None:
    """Remove an empty bucket (BucketNotEmpty otherwise). Its unfinished multipart uploads go with
    it, as on S3: their rows by cascade, their parts' blobs once the deletion has committed."""
    with transaction.atomic():
        locked = Bucket.objects.select_for_update().filter(pk=bucket.pk).first()
        if locked is None:
            raise NoSuchBucket(BucketName=bucket.name)
        if locked.contents.exists():
            raise BucketNotEmpty(BucketName=bucket.name)
        blobs = list(UploadPart.objects.filter(upload__bucket=locked).values_list("blob", flat=True))
        locked.delete()
    for blob in blobs:
        storage.delete_blob(blob)


def bucket_tags_set(bucket: Bucket, tags: list[dict[str, str]]) -> None:
    bucket.tags = check_tags(tags, bucket=True)
    bucket.save(update_fields=["tags"])


def bucket_tags_delete(bucket: Bucket) -> None:
    bucket.tags = []
    bucket.save(update_fields=["tags"])
