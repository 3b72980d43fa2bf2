"""ListObjectsV2 and ListObjects (S3 API reference, one page each): the query read, the page
rendered. The walk itself is services/listing.py."""
from __future__ import annotations

from urllib.parse import quote_plus

from ..models import Bucket, S3Object
from ..services.listing import list_page, marker_of, max_keys_of, token_for
from ..wire.app import run
from ..wire.errors import InvalidArgument
from ..wire.request import S3Request
from ..wire.response import S3Response, xml_response
from ..wire.xml import el, els
from .buckets import owner_xml
from .common import bucket_for


def _encoder(req: S3Request):
    """encoding-type=url: names percent-encoded as S3 does (UTF-8, space as +, "/" kept)."""
    encoding = req.query.get("encoding-type")
    if encoding is None:
        return lambda value: value
    if encoding != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type",
                              ArgumentValue=encoding)
    return lambda value: quote_plus(value, safe="/", errors="surrogateescape")


def _contents(obj: S3Object, encode, owner: str | None) -> str:
    algorithm = obj.checksum_algorithm or next(iter(obj.checksums), "")
    return els("Contents", [
        el("Key", encode(obj.key)), el("LastModified", obj.last_modified), el("ETag", f'"{obj.etag}"'),
        el("ChecksumAlgorithm", algorithm or None), el("ChecksumType", obj.checksum_type or None),
        el("Size", obj.size), owner or "", el("StorageClass", obj.storage_class)])


def _listing(bucket: Bucket, prefix: str, delimiter: str, marker: str, max_keys: int):
    page = list_page(bucket, prefix, delimiter, marker, max_keys)
    return page, bucket.account


async def list_objects_v2(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:ListBucket")
    query = req.query
    encode = _encoder(req)
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    max_keys = max_keys_of(query.get("max-keys"))
    token = query.get("continuation-token")
    start_after = query.get("start-after", "")
    marker = marker_of(token) if token is not None else start_after
    page, account = await run(_listing, bucket, prefix, delimiter, marker, max_keys)
    owner = owner_xml(account) if query.get("fetch-owner", "").lower() == "true" else None
    inner = [el("Name", bucket.name), el("Prefix", encode(prefix)),
             el("Delimiter", encode(delimiter)) if delimiter else "", el("MaxKeys", max_keys),
             el("EncodingType", query.get("encoding-type")), el("KeyCount", page.count),
             el("ContinuationToken", token),
             el("NextContinuationToken", token_for(page.last) if page.truncated else None),
             el("StartAfter", encode(start_after)) if "start-after" in query else "",
             el("IsTruncated", page.truncated)]
    inner += [_contents(obj, encode, owner) for obj in page.objects]
    inner += [els("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.prefixes]
    return xml_response("ListBucketResult", inner)


async def list_objects(req: S3Request) -> S3Response:
    bucket = await bucket_for(req, "s3:ListBucket")
    query = req.query
    encode = _encoder(req)
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    marker = query.get("marker", "")
    max_keys = max_keys_of(query.get("max-keys"))
    page, account = await run(_listing, bucket, prefix, delimiter, marker, max_keys)
    owner = owner_xml(account)
    # NextMarker only with a delimiter, as S3 sends it; without one the last key is the marker.
    next_marker = page.last if page.truncated and delimiter else None
    inner = [el("Name", bucket.name), el("Prefix", encode(prefix)), el("Marker", encode(marker)),
             el("NextMarker", encode(next_marker) if next_marker is not None else None),
             el("MaxKeys", max_keys), el("Delimiter", encode(delimiter)) if delimiter else "",
             el("EncodingType", query.get("encoding-type")), el("IsTruncated", page.truncated)]
    inner += [_contents(obj, encode, owner) for obj in page.objects]
    inner += [els("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.prefixes]
    return xml_response("ListBucketResult", inner)
