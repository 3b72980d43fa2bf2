"""Listing a bucket: keys in UTF-8 binary order, a prefix, a delimiter rolling keys up into
common prefixes, and paging after a marker (S3 API reference, "ListObjectsV2", "ListObjects").

The database does the walking: each query asks for keys after the current position within the
prefix's range, in order. A key under a common prefix ends the walk inside that prefix: the next
query starts past everything the prefix covers, so a folder of 100,000 keys costs one query,
not 100,000 rows. Python strings compare by code point, which is UTF-8's byte order, the order
the key column is compared in (SQLite's binary collation, PostgreSQL's "C").
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from ..models import Bucket, S3Object
from ..wire.errors import InvalidArgument

MAX_KEYS = 1000
BATCH = 1000
_TOKEN_VERSION = b"\x01"


@dataclass
class Page:
    """One page of a listing: objects and common prefixes, in order, at most max-keys of them together."""

    objects: list[S3Object] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None  # the last key or common prefix returned: where the next page starts

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.prefixes)


def successor(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`; None when there is none."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1])
        if code < 0x10FFFF:
            code += 1
            if 0xD800 <= code <= 0xDFFF:  # surrogates are not characters a key holds
                code = 0xE000
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def _rows(bucket: Bucket, lower: str, inclusive: bool, upper: str | None, limit: int) -> list[S3Object]:
    rows = S3Object.objects.filter(bucket=bucket)
    rows = rows.filter(key__gte=lower) if inclusive else rows.filter(key__gt=lower)
    if upper is not None:
        rows = rows.filter(key__lt=upper)
    return list(rows.order_by("key")[:limit])


def list_page(bucket: Bucket, prefix: str = "", delimiter: str = "", marker: str = "",
              max_keys: int = MAX_KEYS) -> Page:
    """The page of keys and common prefixes after `marker` (a key, a common prefix or any string).

    A common prefix not above the marker is not returned again, so a page that ended on one
    continues past it (S3's NextMarker for ListObjects is such a prefix)."""
    page = Page()
    upper = successor(prefix) if prefix else None
    if marker and marker >= prefix:
        lower, inclusive = marker, False
    else:
        lower, inclusive = prefix, True
    while page.count < max_keys:
        rows = _rows(bucket, lower, inclusive, upper, BATCH)
        rolled: str | None = None  # the common prefix the walk is inside of
        for obj in rows:
            if rolled is not None and obj.key.startswith(rolled):
                continue
            rolled = None
            at = obj.key.find(delimiter, len(prefix)) if delimiter else -1
            if at >= 0:
                rolled = obj.key[:at + len(delimiter)]
                if rolled > marker:
                    page.prefixes.append(rolled)
                    page.last = rolled
            else:
                page.objects.append(obj)
                page.last = obj.key
            if page.count >= max_keys:
                page.truncated = _more_after(bucket, page, upper)
                return page
        if len(rows) < BATCH:
            return page  # every key in range has been seen
        if rolled is not None:
            after = successor(rolled)
            if after is None:
                return page
            lower, inclusive = after, True
        else:
            lower, inclusive = rows[-1].key, False
    return page


def _more_after(bucket: Bucket, page: Page, upper: str | None) -> bool:
    last = page.last
    if page.prefixes and last == page.prefixes[-1]:
        after = successor(last)
        return after is not None and bool(_rows(bucket, after, True, upper, 1))
    return bool(_rows(bucket, last, False, upper, 1))


def token_for(marker: str) -> str:
    """An opaque continuation token for a page that ended at `marker`."""
    return base64.b64encode(_TOKEN_VERSION + marker.encode("utf-8", "surrogateescape")).decode()


def marker_of(token: str) -> str:
    """The marker inside a continuation token; InvalidArgument for one we did not make."""
    try:
        raw = base64.b64decode(token, validate=True)
        if not raw.startswith(_TOKEN_VERSION):
            raise ValueError
        return raw[len(_TOKEN_VERSION):].decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        raise InvalidArgument("The continuation token provided is incorrect", ArgumentName="continuation-token")


def max_keys_of(value: str | None) -> int:
    """max-keys as S3 reads it: 1000 by default and at most, 0 allowed; not a number is InvalidArgument."""
    if value is None or value == "":
        return MAX_KEYS
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0 or number > 2 ** 31 - 1:
        raise InvalidArgument("Provided max-keys not an integer or within integer range", ArgumentName="max-keys",
                              ArgumentValue=value)
    return min(number, MAX_KEYS)
