"""S3's metadata: buckets, objects, multipart uploads and their parts.

The bytes live in the storage (`console/s3/storage.py`) under names of their own, never
derived from keys: a row names its blob, and replacing an object writes a new blob first,
then points the row at it in one transaction, then removes the old blob. A crash leaves the
old object or the new one, never half of either; the temporary file of an upload that never
finished is removed by housekeeping (`storage.sweep_temporary`).

Keys are compared and listed in UTF-8 binary order, as S3 lists them: SQLite's default
collation is binary; PostgreSQL needs the column's collation "C" (its migration says so).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..models import Account


def default_region() -> str:
    return settings.LAMBDA_REGION


class Bucket(models.Model):
    # Bucket names are unique across every account (one namespace, as in an AWS partition).
    name = models.CharField(max_length=63, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="buckets")
    region = models.CharField(max_length=32, default=default_region)
    created = models.DateTimeField(default=timezone.now)
    # GetBucketNotificationConfiguration's document, as parsed and normalised by
    # services/notifications.py: {"LambdaFunctionConfigurations": [{"Id", "LambdaFunctionArn",
    # "Events": [...], "Filter": {"Key": {"FilterRules": [{"Name", "Value"}]}}}]}.
    notification_configuration = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)  # [{"Key": ..., "Value": ...}]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


class ObjectAttributes(models.Model):
    """What a PUT, a copy or a CreateMultipartUpload says about an object, kept and returned."""

    content_type = models.CharField(max_length=1024, default="binary/octet-stream")
    content_encoding = models.CharField(max_length=1024, blank=True)
    content_disposition = models.CharField(max_length=1024, blank=True)
    content_language = models.CharField(max_length=1024, blank=True)
    cache_control = models.CharField(max_length=1024, blank=True)
    expires = models.CharField(max_length=64, blank=True)  # the HTTP date as given
    metadata = models.JSONField(default=dict, blank=True)  # x-amz-meta-* without the prefix, lower-case names
    tags = models.JSONField(default=list, blank=True)  # [{"Key": ..., "Value": ...}], in order
    storage_class = models.CharField(max_length=32, default="STANDARD")
    # The additional checksum asked for (CRC32, CRC32C, SHA1, SHA256, CRC64NVME), or "".
    checksum_algorithm = models.CharField(max_length=16, blank=True)

    class Meta:
        abstract = True


class S3Object(ObjectAttributes):
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="contents")
    key = models.CharField(max_length=1024)  # at most 1024 bytes of UTF-8, checked
    size = models.BigIntegerField()
    etag = models.CharField(max_length=64)  # without quotes: hex MD5, or "<md5 of md5s>-<parts>"
    # {"CRC32": base64, ...}: the checksums S3 returns (x-amz-checksum-*), and their type.
    checksums = models.JSONField(default=dict, blank=True)
    checksum_type = models.CharField(max_length=16, blank=True)  # FULL_OBJECT or COMPOSITE
    parts_count = models.PositiveIntegerField(null=True, blank=True)  # multipart objects only
    # Each part's size, for GetObject/HeadObject with partNumber.
    part_sizes = models.JSONField(default=list, blank=True)
    blob = models.CharField(max_length=255)  # the storage's name for the bytes
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="unique_object_key")]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.bucket_id}/{self.key}"


class MultipartUpload(ObjectAttributes):
    upload_id = models.CharField(max_length=128, unique=True)
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="uploads")
    key = models.CharField(max_length=1024)
    initiated = models.DateTimeField(default=timezone.now)
    initiator_arn = models.CharField(max_length=2048, blank=True)

    class Meta:
        indexes = [models.Index(fields=["bucket", "key", "initiated"])]
        ordering = ["key", "initiated"]


class UploadPart(models.Model):
    upload = models.ForeignKey(MultipartUpload, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()  # 1..10000
    size = models.BigIntegerField()
    etag = models.CharField(max_length=64)  # hex MD5, without quotes
    checksums = models.JSONField(default=dict, blank=True)
    blob = models.CharField(max_length=255)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "number"], name="unique_part_number")]
        ordering = ["number"]
