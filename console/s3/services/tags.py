"""Tag sets of objects and buckets: S3's limits (S3 User Guide, "Categorizing your storage using tags").

An object carries at most 10 tags, a bucket 50; keys up to 128 Unicode characters, values up
to 256, each key once, none starting with `aws:`. A tag set is a list of {"Key", "Value"} in
the order given, as S3 returns it.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from ..wire.errors import InvalidArgument, error

BadRequest = error("BadRequest", 400, "Bad Request")
InvalidTag = error("InvalidTag", 400, "The tag provided was not a valid tag.")
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256


def check_tags(tags: list[dict[str, str]], *, bucket: bool = False) -> list[dict[str, str]]:
    """The tag set, or InvalidTag / BadRequest with S3's wording."""
    if bucket and len(tags) > MAX_BUCKET_TAGS:
        raise InvalidTag("Bucket tag count cannot be greater than 50")
    if not bucket and len(tags) > MAX_OBJECT_TAGS:
        raise BadRequest("Object tags cannot be greater than 10")
    seen: set[str] = set()
    for tag in tags:
        key, value = tag["Key"], tag["Value"]
        if not key or len(key) > MAX_KEY:
            raise InvalidTag(f"The TagKey you have provided is {'too long, max 128' if key else 'invalid'}")
        if len(value) > MAX_VALUE:
            raise InvalidTag("The TagValue you have provided is too long, max 256")
        if key.lower().startswith("aws:"):
            raise InvalidTag("System tags cannot be added/updated by requester")
        if key in seen:
            raise InvalidTag("Cannot provide multiple Tags with the same key")
        seen.add(key)
    return [{"Key": t["Key"], "Value": t["Value"]} for t in tags]


def tags_from_header(value: str) -> list[dict[str, str]]:
    """The x-amz-tagging header of PutObject/CopyObject: a URL query string, `k1=v1&k2=v2`."""
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                              "parameters without tag name duplicates.", ArgumentName="x-amz-tagging",
                              ArgumentValue=value)
    return check_tags([{"Key": k, "Value": v} for k, v in pairs])


def tags_header(tags: list[dict[str, str]]) -> str:
    return urlencode([(t["Key"], t["Value"]) for t in tags])
