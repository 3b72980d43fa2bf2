"""Objects: record a stored blob as a key's current object, find, delete (business rules)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import storage
from ..models import Bucket, S3Object
from ..wire.errors import NoSuchKey
from . import events, rows


def object_at(bucket: Bucket, key: str) -> S3Object:
    obj = rows.object_row(bucket.pk, key)  # the ORM's compiler costs more than the query (rows.py)
    if obj is None:
        raise NoSuchKey(Key=key)
    return obj


def object_store(bucket: Bucket, key: str, writer: storage.BlobWriter, attributes: dict[str, Any],
                 change: events.Change, *, etag: str | None = None, extra: dict[str, Any] | None = None) -> S3Object:
    """Make the writer's bytes the object at `key`: blob committed, row written and events queued
    in one transaction, the replaced blob removed after it commits."""
    blob = writer.commit()
    fields = {"size": writer.size, "etag": etag or writer.etag, "blob": blob, "last_modified": timezone.now(),
              **attributes, **(extra or {})}
    old_blob = None
    try:
        with transaction.atomic():
            obj = rows.object_row_for_update(bucket.pk, key)  # prepared SQL: rows.py says why
            if obj is None:
                obj = S3Object.objects.create(bucket=bucket, key=key, **fields)
            else:
                old_blob = obj.blob
                for name, value in fields.items():
                    setattr(obj, name, value)
                rows.update_row(obj, fields)
            events.object_changed(bucket, change)
    except BaseException:
        storage.delete_blob(blob)
        raise
    if old_blob and old_blob != blob:
        storage.delete_blob(old_blob)
    return obj


def object_delete(bucket: Bucket, key: str, change: events.Change) -> bool:
    """Remove the object at `key` (no error when there is none, as S3 answers); True if one was there."""
    with transaction.atomic():
        obj = S3Object.objects.select_for_update().filter(bucket=bucket, key=key).first()
        if obj is None:
            return False
        blob = obj.blob
        obj.delete()
        events.object_changed(bucket, change)
    storage.delete_blob(blob)
    return True

