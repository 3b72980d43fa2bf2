"""Multipart uploads: create, store parts, complete into one object, abort (business rules).

The wire is ops/multipart.py. Rules follow the S3 API reference pages of each operation
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html and its
siblings) and the User Guide's "Amazon S3 multipart upload limits": part numbers 1..10,000,
every part but the last at least 5 MiB, at most 10,000 parts.

Each part is a blob of its own; completing streams the listed parts, in order, through one
BlobWriter into a new blob (never a whole part in memory), then records the object, drops
the upload and its parts in one transaction, and removes the part blobs once it commits.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from django.db import transaction
from django.utils import timezone

from .. import storage
from ..models import Bucket, MultipartUpload, S3Object, UploadPart
from ..wire import checksums
from ..wire.errors import (BadDigest, EntityTooSmall, InvalidArgument, InvalidPart, InvalidPartOrder, InvalidRequest,
                           MalformedXML, NoSuchUpload)
from . import events
from .objects import object_store

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
MAX_PART_NUMBER = 10_000
MAX_LISTED = 1000  # max-uploads and max-parts: S3's default and ceiling
ASSEMBLY_CHUNK = 1024 * 1024


def new_upload_id() -> str:
    # Time first, so upload ids sort in the order the uploads began: ListMultipartUploads lists
    # a key's uploads by initiation and pages them by upload-id-marker.
    return f"{time.time_ns():016x}{secrets.token_urlsafe(24)}"


def part_number(value: str | None) -> int:
    """The partNumber of a request, 1..10000 (InvalidArgument otherwise, as S3 answers)."""
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                              ArgumentName="partNumber", ArgumentValue=value or "")
    return number


def upload_create(bucket: Bucket, key: str, attributes: dict[str, Any], initiator_arn: str) -> MultipartUpload:
    return MultipartUpload.objects.create(upload_id=new_upload_id(), bucket=bucket, key=key,
                                          initiator_arn=initiator_arn, **attributes)


def upload_named(bucket: Bucket, key: str, upload_id: str | None) -> MultipartUpload:
    upload = MultipartUpload.objects.filter(bucket=bucket, key=key, upload_id=upload_id or "").first()
    if upload is None:
        raise NoSuchUpload(UploadId=upload_id or "")
    return upload


def part_store(upload: MultipartUpload, number: int, writer: storage.BlobWriter,
               checksums: dict[str, str] | None = None) -> UploadPart:
    """Make the writer's bytes part `number` of the upload, replacing a part sent before."""
    blob = writer.commit()
    fields = {"size": writer.size, "etag": writer.etag, "checksums": checksums or {}, "blob": blob,
              "last_modified": timezone.now()}
    old_blob = None
    try:
        with transaction.atomic():
            # Aborted or completed while the body streamed in: the part has nowhere to go.
            if not MultipartUpload.objects.select_for_update().filter(pk=upload.pk).exists():
                raise NoSuchUpload(UploadId=upload.upload_id)
            part = UploadPart.objects.filter(upload=upload, number=number).first()
            if part is None:
                part = UploadPart.objects.create(upload=upload, number=number, **fields)
            else:
                old_blob = part.blob
                for name, value in fields.items():
                    setattr(part, name, value)
                part.save()
    except BaseException:
        storage.delete_blob(blob)
        raise
    if old_blob:
        storage.delete_blob(old_blob)
    return part


@dataclass(frozen=True)
class ListedPart:
    """One entry of CompleteMultipartUpload's list: the number and the ETag the client kept."""

    number: int
    etag: str
    checksums: dict[str, str]


def _plain_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


def check_completion(upload: MultipartUpload, listed: list[ListedPart]) -> list[UploadPart]:
    """The upload's parts named by `listed`, in order, once the list holds up (CompleteMultipartUpload's
    errors: MalformedXML, InvalidPartOrder, InvalidPart, EntityTooSmall); nothing is changed."""
    if not listed:
        raise MalformedXML()
    for before, after in zip(listed, listed[1:]):
        if after.number <= before.number:
            raise InvalidPartOrder(UploadId=upload.upload_id)
    stored = {part.number: part for part in upload.parts.all()}
    chosen = []
    for item in listed:
        part = stored.get(item.number)
        if (part is None or _plain_etag(item.etag) != part.etag
                or any(part.checksums.get(name) != value for name, value in item.checksums.items())):
            raise InvalidPart(UploadId=upload.upload_id, PartNumber=str(item.number), ETag=item.etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(ProposedSize=str(part.size), MinSizeAllowed=str(MIN_PART_SIZE),
                                 PartNumber=str(part.number), ETag=f'"{part.etag}"')
    return chosen


def multipart_etag(parts: Iterable[UploadPart]) -> str:
    """S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then "-<count>"."""
    parts = list(parts)
    digest = hashlib.md5(b"".join(bytes.fromhex(part.etag) for part in parts)).hexdigest()
    return f"{digest}-{len(parts)}"


class _Assembled:
    """The finished, already committed blob, handed to object_store (which commits what it is given):
    the blob is made durable before the transaction, so no database lock waits on an fsync."""

    def __init__(self, writer: storage.BlobWriter) -> None:
        self.size, self.etag = writer.size, writer.etag
        self.name = writer.commit()

    def commit(self) -> str:
        return self.name


def checksum_type(algorithm: str) -> str:
    """The object checksum an upload asking for `algorithm` gets: COMPOSITE (a checksum of the parts'
    checksums), or FULL_OBJECT for CRC64NVME, its only type on S3 ("" without an algorithm)."""
    if not algorithm:
        return ""
    return checksums.FULL_OBJECT if algorithm == "CRC64NVME" else checksums.COMPOSITE


def _assemble(upload: MultipartUpload, parts: list[UploadPart], hashers: list[checksums.Digest]) -> _Assembled:
    with storage.BlobWriter(hashers=hashers) as writer:
        for part in parts:
            try:
                for chunk in storage.iter_blob(part.blob, chunk=ASSEMBLY_CHUNK):
                    writer.write(chunk)
            except FileNotFoundError:  # the part was sent again, or the upload aborted, meanwhile
                raise InvalidPart(UploadId=upload.upload_id, PartNumber=str(part.number), ETag=f'"{part.etag}"')
        return _Assembled(writer)


def upload_complete(upload: MultipartUpload, listed: list[ListedPart], change_for: Callable[[int, str], events.Change],
                    *, claimed_type: str = "", claimed_checksum: str | None = None,
                    claimed_size: int | None = None) -> S3Object:
    """Assemble the listed parts into the object at the upload's key; the upload and its parts go.
    `change_for(size, etag)` is the event the new object makes; the claims are what the request says
    of the whole object (x-amz-checksum-type, x-amz-checksum-<algorithm>, x-amz-mp-object-size)."""
    parts = check_completion(upload, listed)
    algorithm, kind = upload.checksum_algorithm, checksum_type(upload.checksum_algorithm)
    if claimed_type and claimed_type != kind:
        raise InvalidRequest(f"The upload was created using the {kind or 'default'} checksum mode. "
                             "The complete request must use the same checksum mode.")
    if claimed_size is not None and claimed_size != sum(part.size for part in parts):
        raise InvalidRequest("The provided 'x-amz-mp-object-size' header value does not match the size of the "
                             "object.")
    etag = multipart_etag(parts)
    whole = checksums.new(algorithm) if kind == checksums.FULL_OBJECT else None
    assembled = _assemble(upload, parts, [whole] if whole else [])
    attributes = {name: getattr(upload, name) for name in (
        "content_type", "content_encoding", "content_disposition", "content_language", "cache_control",
        "expires", "metadata", "tags", "storage_class", "checksum_algorithm")}
    fields: dict[str, Any] = {"parts_count": len(parts), "part_sizes": [part.size for part in parts]}
    if whole is not None:
        fields["checksums"] = {algorithm: base64.b64encode(whole.digest()).decode()}
    elif algorithm and all(algorithm in part.checksums for part in parts):
        fields["checksums"] = {algorithm: checksums.composite(algorithm, [part.checksums[algorithm] for part in parts])}
    if "checksums" in fields:
        fields["checksum_type"] = kind
    used = {part.pk: part.blob for part in parts}
    try:
        computed = fields.get("checksums", {}).get(algorithm, "")
        if claimed_checksum is not None and claimed_checksum not in (computed, computed.split("-")[0]):
            raise BadDigest(f"The {algorithm or 'checksum'} you specified did not match the calculated checksum.")
        with transaction.atomic():
            current = MultipartUpload.objects.select_for_update().filter(pk=upload.pk).first()
            if current is None:  # completed or aborted by a concurrent request
                raise NoSuchUpload(UploadId=upload.upload_id)
            leftovers = dict(UploadPart.objects.filter(upload=current).values_list("pk", "blob"))
            if any(leftovers.get(pk) != blob for pk, blob in used.items()):
                # A listed part was sent again while we assembled: its ETag no longer holds.
                raise InvalidPart(UploadId=upload.upload_id)
            current.delete()
            obj = object_store(upload.bucket, upload.key, assembled, attributes, change_for(assembled.size, etag),
                               etag=etag, extra=fields)
    except BaseException:
        storage.delete_blob(assembled.name)
        raise
    for blob in leftovers.values():
        storage.delete_blob(blob)
    return obj


def upload_abort(bucket: Bucket, key: str, upload_id: str | None) -> None:
    """Drop the upload and its parts' bytes (NoSuchUpload when there is no such upload)."""
    with transaction.atomic():
        upload = MultipartUpload.objects.select_for_update().filter(
            bucket=bucket, key=key, upload_id=upload_id or "").first()
        if upload is None:
            raise NoSuchUpload(UploadId=upload_id or "")
        blobs = list(upload.parts.values_list("blob", flat=True))
        upload.delete()
    for blob in blobs:
        storage.delete_blob(blob)


@dataclass
class UploadListing:
    uploads: list[MultipartUpload]
    prefixes: list[str]
    truncated: bool
    next_key_marker: str
    next_upload_id_marker: str


def uploads_list(bucket: Bucket, prefix: str = "", delimiter: str = "", key_marker: str = "",
                 upload_id_marker: str = "", max_uploads: int = MAX_LISTED) -> UploadListing:
    """ListMultipartUploads: in-progress uploads by key, then by initiation; keys sharing a prefix up
    to the delimiter rolled into one CommonPrefixes entry, which counts as one against max-uploads."""
    rows = MultipartUpload.objects.filter(bucket=bucket, key__startswith=prefix).order_by("key", "upload_id")
    if key_marker:
        # The upload-id-marker only counts with a key-marker: that key's later uploads come too.
        if upload_id_marker:
            rows = rows.filter(key__gte=key_marker).exclude(key=key_marker, upload_id__lte=upload_id_marker)
        else:
            rows = rows.filter(key__gt=key_marker)
    listing = UploadListing([], [], False, "", "")
    count = 0
    for upload in rows.iterator():
        common = None
        if delimiter:
            at = upload.key.find(delimiter, len(prefix))
            if at >= 0:
                common = upload.key[: at + len(delimiter)]
        if common is not None and (common == (listing.prefixes[-1] if listing.prefixes else None)
                                   or (key_marker and common <= key_marker)):
            continue
        if count >= max_uploads:
            listing.truncated = True
            break
        count += 1
        if common is not None:
            listing.prefixes.append(common)
            listing.next_key_marker, listing.next_upload_id_marker = common, ""
        else:
            listing.uploads.append(upload)
            listing.next_key_marker, listing.next_upload_id_marker = upload.key, upload.upload_id
    return listing


def parts_list(upload: MultipartUpload, marker: int = 0, max_parts: int = MAX_LISTED) -> tuple[list[UploadPart], bool]:
    """ListParts: the parts after part number `marker`, at most `max_parts`, and whether more follow."""
    parts = list(upload.parts.filter(number__gt=marker).order_by("number")[: max_parts + 1])
    return parts[:max_parts], len(parts) > max_parts

