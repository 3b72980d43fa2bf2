"""Buckets: create, find, delete (business rules; the wire is ops/buckets.py)."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from ...models import Account
from ..models import Bucket
from ..wire.errors import BucketAlreadyExists, BucketAlreadyOwnedByYou, NoSuchBucket
from . import rows
from .names import check_bucket_name


def bucket_named(name: str) -> Bucket:
    bucket = rows.bucket_row(name)  # the ORM's compiler costs more than the query (rows.py)
    if bucket is None:
        raise NoSuchBucket(BucketName=name)
    return bucket


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
