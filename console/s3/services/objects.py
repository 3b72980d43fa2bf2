"""Objects: record a stored blob as a key's current object, find, delete (business rules)."""
from __future__ import annotations

import dataclasses
from typing import Any, BinaryIO, Callable, Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import storage
from ..models import Bucket, S3Object
from ..wire.errors import InvalidRequest, NoSuchKey, NotImplementedError_, PreconditionFailed, error
from . import conditions, events, rows
from .tags import check_tags

MetadataTooLarge = error("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
MAX_METADATA = 2 * 1024
OPEN_ATTEMPTS = 3


def object_at(bucket: Bucket, key: str) -> S3Object:
    obj = rows.object_row(bucket.pk, key)  # the ORM's compiler costs more than the query (rows.py)
    if obj is None:
        raise NoSuchKey(Key=key)
    return obj


def object_store(bucket: Bucket, key: str, writer: storage.BlobWriter, attributes: dict[str, Any],
                 change: events.Change, *, etag: str | None = None, extra: dict[str, Any] | None = None,
                 precondition: Callable[[S3Object | None], None] | None = None) -> S3Object:
    """Make the writer's bytes the object at `key`: blob committed, row written and events queued
    in one transaction, the replaced blob removed after it commits. `precondition` sees the
    object being replaced (or None) under the row's lock and may refuse (a conditional write)."""
    blob = writer.commit()
    fields = {"size": writer.size, "etag": etag or writer.etag, "blob": blob, "last_modified": timezone.now(),
              **attributes, **(extra or {})}
    old_blob = None
    try:
        with transaction.atomic():
            obj = rows.object_row_for_update(bucket.pk, key)  # prepared SQL: rows.py says why
            if precondition is not None:
                precondition(obj)
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



def object_open(bucket: Bucket, key: str, headers: dict[str, str] | None = None) -> tuple[S3Object, BinaryIO]:
    """The object at `key`, its conditions checked, and its bytes opened, before any answer is sent.

    A PUT replacing the object between our row read and the open removes the blob we read
    about; the row is read again then (the new blob is in place before the old one goes)."""
    for _ in range(OPEN_ATTEMPTS):
        obj = object_at(bucket, key)
        if headers is not None:
            conditions.check_conditions(obj, headers)
        try:
            return obj, storage.open_blob(obj.blob)
        except FileNotFoundError:
            continue
    raise NoSuchKey(Key=key)


def read_range(handle: BinaryIO, start: int, end: int, chunk: int = storage.CHUNK) -> Iterator[bytes]:
    """Bytes `start`..`end` (inclusive) of an open blob, in chunks; the blob is closed at the end
    or when the reader stops early (the response's close)."""
    try:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            data = handle.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data
    finally:
        handle.close()


def check_metadata(metadata: dict[str, str]) -> None:
    """MetadataTooLarge past S3's 2 KB of user-defined metadata (names and values in UTF-8)."""
    size = sum(len(k.encode("utf-8", "surrogateescape")) + len(v.encode("utf-8", "surrogateescape"))
               for k, v in metadata.items())
    if size > MAX_METADATA:
        raise MetadataTooLarge(MetadataSize=str(size), MaxMetadataSize=str(MAX_METADATA))


def object_copy(source_bucket: Bucket, source_key: str, bucket: Bucket, key: str, headers: dict[str, str],
                attributes: Callable[[S3Object], dict[str, Any]], change: events.Change) -> S3Object:
    """CopyObject's work: the source's conditions checked, its bytes copied to a new blob (on the
    API's thread pool, never through the event loop) and stored at `key` as object_store does.
    `attributes(source)` says what the copy keeps (metadata directive COPY or REPLACE)."""
    for _ in range(OPEN_ATTEMPTS):
        source = object_at(source_bucket, source_key)
        conditions.check_conditions(source, headers, prefix="x-amz-copy-source-")
        try:
            handle = storage.open_blob(source.blob)
        except FileNotFoundError:
            continue
        break
    else:
        raise NoSuchKey(Key=source_key)
    if source.size > settings.LAMBDA_S3_MAX_OBJECT_SIZE:
        handle.close()
        raise InvalidRequest("The specified copy source is larger than the maximum allowable size for a copy "
                             f"source: {settings.LAMBDA_S3_MAX_OBJECT_SIZE}")
    with handle, storage.BlobWriter() as writer:
        while data := handle.read(storage.CHUNK):
            writer.write(data)
        extra: dict[str, Any] = {}
        if source.parts_count is None or source.checksum_type == "FULL_OBJECT":
            # The same bytes have the same whole-object checksums; a multipart source's composite
            # ones describe parts the copy does not have.
            extra = {"checksums": source.checksums, "checksum_type": source.checksum_type}
        else:
            extra = {"checksums": {}, "checksum_type": ""}
        extra.update(parts_count=None, part_sizes=[])
        done = dataclasses.replace(change, size=writer.size, etag=writer.etag)
        return object_store(bucket, key, writer, attributes(source), done, extra=extra)


def object_tags_set(bucket: Bucket, key: str, tags: list[dict[str, str]]) -> None:
    """Replace the object's tag set (its Last-Modified unchanged, as S3 keeps it)."""
    tags = check_tags(tags)
    if not S3Object.objects.filter(bucket=bucket, key=key).update(tags=tags):
        raise NoSuchKey(Key=key)


def write_condition(headers: dict[str, str], key: str) -> Callable[[S3Object | None], None] | None:
    """PutObject's conditional write (S3 User Guide, "Conditional writes"): If-None-Match: *
    refuses to replace an object, If-Match replaces only the object with that ETag."""
    if_none_match, if_match = headers.get("if-none-match"), headers.get("if-match")
    if if_none_match is None and if_match is None:
        return None
    if if_none_match is not None and if_none_match.strip() != "*":
        raise NotImplementedError_()

    def check(current: S3Object | None) -> None:
        if if_none_match is not None and current is not None:
            raise PreconditionFailed(Condition="If-None-Match")
        if if_match is not None:
            if current is None:
                raise NoSuchKey(Key=key)
            if not conditions.etag_matches(if_match, current.etag):
                raise PreconditionFailed(Condition="If-Match")
    return check
