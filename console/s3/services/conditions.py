"""Conditional and ranged reads: If-Match & co., and the Range header, as S3 evaluates them.

S3 API reference, "GetObject" and "HeadObject": when If-Match holds, If-Unmodified-Since is not
looked at (200 even if it fails); when If-None-Match fails (the ETag matches), the answer is 304
whatever If-Modified-Since says. Otherwise each condition alone: If-Match or If-Unmodified-Since
failing is 412, If-None-Match or If-Modified-Since failing is 304. CopyObject's
x-amz-copy-source-if-* follow the same precedence, every failure 412 ("CopyObject").
"""
from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

from ..models import S3Object
from ..wire.errors import InvalidArgument, InvalidRange, InvalidRequest, NotModified, PreconditionFailed, error
from ..wire.xml import http_date

InvalidPartNumber = error("InvalidPartNumber", 416, "The requested partnumber is not satisfiable")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _etags(value: str) -> list[str]:
    return [part.strip().removeprefix("W/").strip('"') for part in value.split(",") if part.strip()]


def etag_matches(value: str, etag: str) -> bool:
    tags = _etags(value)
    return "*" in tags or etag in tags


def _date(value: str | None) -> dt.datetime | None:
    """An HTTP date, or None when absent or unreadable (an unreadable date is ignored, as HTTP says)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _modified_after(obj: S3Object, moment: dt.datetime) -> bool:
    # HTTP dates have whole seconds; so does the Last-Modified the client saw.
    return obj.last_modified.replace(microsecond=0) > moment


def check_conditions(obj: S3Object, headers: dict[str, str], prefix: str = "") -> None:
    """Raise PreconditionFailed (412) or NotModified (304) unless the request's conditions hold.

    `prefix` is "x-amz-copy-source-" for CopyObject's conditions on its source, which fail
    with 412 where a GET's would be 304."""
    def failed(condition: str) -> Exception:
        return PreconditionFailed(Condition=prefix + condition)

    def unchanged(condition: str) -> Exception:
        if prefix:
            return failed(condition)
        return NotModified(headers={"ETag": f'"{obj.etag}"', "Last-Modified": http_date(obj.last_modified)})

    if_match = headers.get(f"{prefix}if-match")
    if if_match is not None:
        if not etag_matches(if_match, obj.etag):
            raise failed("If-Match")
    else:
        moment = _date(headers.get(f"{prefix}if-unmodified-since"))
        if moment is not None and _modified_after(obj, moment):
            raise failed("If-Unmodified-Since")
    if_none_match = headers.get(f"{prefix}if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, obj.etag):
            raise unchanged("If-None-Match")
    else:
        moment = _date(headers.get(f"{prefix}if-modified-since"))
        if moment is not None and not _modified_after(obj, moment):
            raise unchanged("If-Modified-Since")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte a Range header asks for, or None for the whole object.

    One range only, as S3 serves: `bytes=a-b`, `bytes=a-` and the suffix `bytes=-n`; a last
    byte past the end is the end. A header S3 cannot read (several ranges, another unit) is
    ignored and the whole object sent; a range starting at or past the end (any range of an
    empty object) is InvalidRange, 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
        return max(0, size - length), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None  # syntactically invalid: ignored, as HTTP says
    end = size - 1 if last == "" else int(last)
    if start >= size:
        raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
    return start, min(end, size - 1)


def part_range(obj: S3Object, number: str, range_header: str | None) -> tuple[int, int]:
    """The bytes of part `number` (GetObject/HeadObject's partNumber): a multipart object's part
    as uploaded; an object stored in one piece is its part 1."""
    if range_header:
        raise InvalidRequest("Cannot specify both Range header and partNumber query parameter")
    try:
        part = int(number)
    except ValueError:
        part = 0
    if not 1 <= part <= 10000:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                              ArgumentName="partNumber", ArgumentValue=number)
    sizes = obj.part_sizes if obj.parts_count else [obj.size]
    if part > len(sizes):
        raise InvalidPartNumber(PartNumberRequested=str(part), ActualPartCount=str(len(sizes)))
    start = sum(sizes[:part - 1])
    return start, start + sizes[part - 1] - 1
