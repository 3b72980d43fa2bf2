"""Multipart upload operations: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
AbortMultipartUpload, ListMultipartUploads, ListParts.

Request and response shapes follow each operation's page in the S3 API reference
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html) and botocore's s3
service model; the rules are in services/multipart.py.
"""
from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from django.conf import settings

from .. import storage
from ..models import MultipartUpload, S3Object, UploadPart
from ..services import events
from ..services import multipart as rules
from ..services.buckets import bucket_named
from ..services.names import check_key
from ..services.objects import object_at
from ..wire import access, body, checksums
from ..wire.app import run
from ..wire.errors import (EntityTooLarge, InvalidArgument, InvalidRequest, MalformedXML, NotImplementedError_,
                           PreconditionFailed)
from ..wire.request import S3Request
from ..wire.response import S3Response, empty, xml_response
from ..wire.xml import MAX_XML, el, els, parse, text
from .attributes import request_attributes
from .common import bucket_for, source_ip


def _attributes(req: S3Request) -> dict:
    """What CreateMultipartUpload's headers say about the object to be: PutObject's attributes, and the
    checksum algorithm its parts will carry (x-amz-checksum-algorithm, x-amz-checksum-type)."""
    algorithm = req.headers.get("x-amz-checksum-algorithm", "").upper()
    if algorithm and algorithm not in checksums.ALGORITHMS:
        raise InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid "
                             "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    kind = req.headers.get("x-amz-checksum-type", "").upper()
    if kind and not algorithm:
        raise InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm "
                             "header.")
    if kind and kind not in (checksums.COMPOSITE, checksums.FULL_OBJECT):
        raise InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if kind and kind != rules.checksum_type(algorithm):
        if algorithm in ("CRC32", "CRC32C"):
            # S3 also keeps FULL_OBJECT CRC32/CRC32C checksums; the upload has no field to remember the choice.
            raise NotImplementedError_("FULL_OBJECT checksums of multipart uploads are served for CRC64NVME only.")
        raise InvalidRequest(f"The {kind} checksum type cannot be used with the {algorithm.lower()} checksum "
                             "algorithm.")
    return {**request_attributes(req), "checksum_algorithm": algorithm}


async def create_multipart_upload(req: S3Request) -> S3Response:
    check_key(req.key or "")
    attributes = _attributes(req)
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    upload = await run(rules.upload_create, bucket, req.key, attributes, req.principal.arn)
    algorithm = upload.checksum_algorithm
    headers = {"x-amz-checksum-algorithm": algorithm,
               "x-amz-checksum-type": rules.checksum_type(algorithm)} if algorithm else {}
    return xml_response("InitiateMultipartUploadResult", el("Bucket", bucket.name) + el("Key", upload.key)
                        + el("UploadId", upload.upload_id), headers=headers)


def _upload_for(bucket, req: S3Request) -> MultipartUpload:
    return rules.upload_named(bucket, req.key or "", req.query.get("uploadId"))


def _part_checksum(req: S3Request | None, upload: MultipartUpload) -> tuple[list[checksums.Hasher],
                                                                            checksums.Hasher | None]:
    """The checksum a part's request sends (verified after its body), and the one we compute ourselves
    when the upload named an algorithm the request did not send: every part of such an upload carries
    that checksum, for the object's COMPOSITE one (S3 User Guide, "Checking object integrity")."""
    sent = checksums.requested(req) if req is not None else []
    wanted = upload.checksum_algorithm
    if not wanted or any(hasher.algorithm == wanted for hasher in sent):
        return sent, None
    if sent:
        raise InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: {wanted.lower()}, "
                             f"actual checksum Type: {sent[0].algorithm.lower()}")
    return [], checksums.Hasher(wanted, None, trailer=False)


def _checksum_headers(part: UploadPart) -> dict[str, str]:
    return {checksums.header_name(algorithm): value for algorithm, value in part.checksums.items()}


async def upload_part(req: S3Request) -> S3Response:
    number = rules.part_number(req.query.get("partNumber"))
    limit = settings.LAMBDA_S3_MAX_OBJECT_SIZE
    if (req.content_length or 0) > limit:
        raise EntityTooLarge(ProposedSize=str(req.content_length), MaxSizeAllowed=str(limit))
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    upload = await run(_upload_for, bucket, req)
    sent, own = _part_checksum(req, upload)
    with storage.BlobWriter(hashers=sent + ([own] if own else [])) as writer:
        async for chunk in body.payload(req):
            writer.write(chunk)
            if writer.size > limit:
                raise EntityTooLarge(MaxSizeAllowed=str(limit))
        part_checksums = checksums.verify(req, sent).get("checksums", {})
        if own is not None:
            part_checksums = {own.algorithm: own.b64()}
        part = await run(rules.part_store, upload, number, writer, part_checksums)
    return empty(200, {"ETag": f'"{part.etag}"', **_checksum_headers(part)})


def copy_source(req: S3Request) -> tuple[str, str]:
    """x-amz-copy-source: "<bucket>/<key>" URL-encoded, a leading slash allowed, a ?versionId= ignored
    (there are no versions here)."""
    value = req.headers.get("x-amz-copy-source", "")
    path = value.split("?", 1)[0]
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidArgument("Invalid copy source object key", ArgumentName="x-amz-copy-source",
                              ArgumentValue=value)
    return bucket, key


def copy_range(req: S3Request, size: int) -> tuple[int, int]:
    """x-amz-copy-source-range "bytes=first-last" (both inclusive and required), or the whole object."""
    value = req.headers.get("x-amz-copy-source-range")
    if value is None:
        return 0, size - 1
    first, _, last = value.removeprefix("bytes=").partition("-")
    if not value.startswith("bytes=") or not first.isdigit() or not last.isdigit():
        raise InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where "
                              "first and last are the zero-based offsets of the first and last bytes to copy",
                              ArgumentName="x-amz-copy-source-range", ArgumentValue=value)
    start, end = int(first), int(last)
    if start > end or end >= size:
        raise InvalidArgument(f"Range specified is not valid for source object of size: {size}",
                              ArgumentName="x-amz-copy-source-range", ArgumentValue=value)
    return start, end


def _check_copy_conditions(req: S3Request, source: S3Object) -> None:
    """x-amz-copy-source-if-*: PreconditionFailed when one does not hold (UploadPartCopy's page)."""
    headers = req.headers
    etag = f'"{source.etag}"'

    def matches(value: str) -> bool:
        return any(tag.strip() in ("*", etag, source.etag) for tag in value.split(","))

    def date(name: str) -> dt.datetime | None:
        try:
            return parsedate_to_datetime(headers[name]) if name in headers else None
        except (TypeError, ValueError):
            return None

    modified = source.last_modified.replace(microsecond=0)
    if "x-amz-copy-source-if-match" in headers and not matches(headers["x-amz-copy-source-if-match"]):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Match")
    if "x-amz-copy-source-if-none-match" in headers and matches(headers["x-amz-copy-source-if-none-match"]):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
    if (since := date("x-amz-copy-source-if-unmodified-since")) and modified > since:
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Unmodified-Since")
    if (since := date("x-amz-copy-source-if-modified-since")) and modified <= since:
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")


def _copy_part(req: S3Request, upload: MultipartUpload, number: int, source_bucket: str,
               source_key: str) -> UploadPart:
    origin = bucket_named(source_bucket)
    access.check(req.principal, "s3:GetObject", origin, source_key)
    source = object_at(origin, source_key)
    _check_copy_conditions(req, source)
    start, end = copy_range(req, source.size)
    _, own = _part_checksum(None, upload)
    with storage.BlobWriter(hashers=[own] if own else []) as writer:
        if source.size:
            for chunk in storage.iter_blob(source.blob, start, end):
                writer.write(chunk)
        return rules.part_store(upload, number, writer, {own.algorithm: own.b64()} if own else {})


async def upload_part_copy(req: S3Request) -> S3Response:
    number = rules.part_number(req.query.get("partNumber"))
    source_bucket, source_key = copy_source(req)
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    upload = await run(_upload_for, bucket, req)
    part = await run(_copy_part, req, upload, number, source_bucket, source_key)
    inner = el("LastModified", part.last_modified) + el("ETag", f'"{part.etag}"')
    inner += "".join(el(f"Checksum{algorithm}", value) for algorithm, value in part.checksums.items())
    return xml_response("CopyPartResult", inner)


def _listed_parts(document: bytes) -> list[rules.ListedPart]:
    root = parse(document, "CompleteMultipartUpload")
    listed = []
    for node in root.findall("Part"):
        try:
            number = int(text(node, "PartNumber", ""))
        except ValueError:
            raise MalformedXML()
        checksums = {child.tag[len("Checksum"):]: (child.text or "") for child in node
                     if child.tag.startswith("Checksum")}
        listed.append(rules.ListedPart(number, text(node, "ETag", ""), checksums))
    return listed


def _location(req: S3Request) -> str:
    scheme = req.scope.get("scheme", "http")
    host = req.headers.get("host", "")
    path = quote(req.key or "", safe="/~") if req.virtual_host else quote(f"{req.bucket}/{req.key}", safe="/~")
    return f"{scheme}://{host}/{path}"


def _complete(bucket, req: S3Request, listed: list[rules.ListedPart]) -> S3Object:
    upload = _upload_for(bucket, req)

    def change_for(size: int, etag: str) -> events.Change:
        return events.Change("ObjectCreated:CompleteMultipartUpload", upload.key, size, etag, req.principal,
                             source_ip(req), req.request_id)

    headers = req.headers
    size = headers.get("x-amz-mp-object-size")
    if size is not None and not size.isdigit():
        raise InvalidArgument("Invalid x-amz-mp-object-size", ArgumentName="x-amz-mp-object-size", ArgumentValue=size)
    claimed = headers.get(checksums.header_name(upload.checksum_algorithm)) if upload.checksum_algorithm else None
    return rules.upload_complete(upload, listed, change_for,
                                 claimed_type=headers.get("x-amz-checksum-type", "").upper(),
                                 claimed_checksum=claimed, claimed_size=int(size) if size is not None else None)


async def complete_multipart_upload(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:PutObject", req.key)
    listed = _listed_parts(await body.read_all(req, MAX_XML))
    obj = await run(_complete, bucket, req, listed)
    inner = (el("Location", _location(req)) + el("Bucket", bucket.name) + el("Key", obj.key)
             + el("ETag", f'"{obj.etag}"'))
    inner += "".join(el(f"Checksum{algorithm}", value) for algorithm, value in obj.checksums.items())
    if obj.checksums:
        inner += el("ChecksumType", obj.checksum_type)
    return xml_response("CompleteMultipartUploadResult", inner)


async def abort_multipart_upload(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:AbortMultipartUpload", req.key)
    await run(rules.upload_abort, bucket, req.key or "", req.query.get("uploadId"))
    return empty(204)


def _max(req: S3Request, name: str) -> int:
    value = req.query.get(name)
    if value is None:
        return rules.MAX_LISTED
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidArgument(f"Provided {name} not an integer or within integer range",
                              ArgumentName=name, ArgumentValue=value)
    return min(number, rules.MAX_LISTED)


def _owner(tag: str, account_id: str) -> str:
    return els(tag, [el("ID", account_id), el("DisplayName", account_id)])


def _initiator(upload: MultipartUpload, account_id: str) -> str:
    arn = upload.initiator_arn or account_id
    return els("Initiator", [el("ID", arn), el("DisplayName", arn.rsplit("/", 1)[-1])])


async def list_multipart_uploads(req: S3Request) -> S3Response:
    query = req.query
    max_uploads = _max(req, "max-uploads")
    url = query.get("encoding-type") == "url"
    bucket = await bucket_for(req, "s3:ListBucketMultipartUploads")
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    key_marker, id_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
    listing = await run(rules.uploads_list, bucket, prefix, delimiter, key_marker, id_marker, max_uploads)
    account_id = req.principal.account.account_id

    def key(value: str) -> str:
        return quote(value, safe="/~") if url else value

    items = [el("Bucket", bucket.name), el("KeyMarker", key(key_marker)), el("UploadIdMarker", id_marker)]
    if listing.truncated:
        items += [el("NextKeyMarker", key(listing.next_key_marker)),
                  el("NextUploadIdMarker", listing.next_upload_id_marker)]
    if delimiter:
        items.append(el("Delimiter", key(delimiter)))
    items += [el("Prefix", key(prefix)), el("MaxUploads", max_uploads), el("IsTruncated", listing.truncated)]
    if url:
        items.append(el("EncodingType", "url"))
    for upload in listing.uploads:
        fields = [el("Key", key(upload.key)), el("UploadId", upload.upload_id), _initiator(upload, account_id),
                  _owner("Owner", account_id), el("StorageClass", upload.storage_class),
                  el("Initiated", upload.initiated)]
        if upload.checksum_algorithm:
            fields += [el("ChecksumAlgorithm", upload.checksum_algorithm),
                       el("ChecksumType", rules.checksum_type(upload.checksum_algorithm))]
        items.append(els("Upload", fields))
    items += [els("CommonPrefixes", [el("Prefix", key(prefix))]) for prefix in listing.prefixes]
    return xml_response("ListMultipartUploadsResult", items)


async def list_parts(req: S3Request) -> S3Response:
    max_parts = _max(req, "max-parts")
    try:
        marker = int(req.query.get("part-number-marker") or 0)
    except ValueError:
        raise InvalidArgument("Provided part-number-marker not an integer or within integer range",
                              ArgumentName="part-number-marker", ArgumentValue=req.query["part-number-marker"])
    bucket = await bucket_for(req, "s3:ListMultipartUploadParts", req.key)
    upload = await run(_upload_for, bucket, req)
    parts, truncated = await run(rules.parts_list, upload, marker, max_parts)
    account_id = req.principal.account.account_id
    items = [el("Bucket", bucket.name), el("Key", upload.key), el("UploadId", upload.upload_id),
             el("PartNumberMarker", marker)]
    if parts:
        items.append(el("NextPartNumberMarker", parts[-1].number))
    items += [el("MaxParts", max_parts), el("IsTruncated", truncated)]
    for part in parts:
        fields = [el("PartNumber", part.number), el("LastModified", part.last_modified),
                  el("ETag", f'"{part.etag}"'), el("Size", part.size)]
        fields += [el(f"Checksum{name}", value) for name, value in part.checksums.items()]
        items.append(els("Part", fields))
    items += [_initiator(upload, account_id), _owner("Owner", account_id), el("StorageClass", upload.storage_class)]
    if upload.checksum_algorithm:
        items += [el("ChecksumAlgorithm", upload.checksum_algorithm),
                  el("ChecksumType", rules.checksum_type(upload.checksum_algorithm))]
    return xml_response("ListPartsResult", items)
