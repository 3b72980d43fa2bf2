"""The console's object browser: one folder level of a bucket (prefix and delimiter "/"), a page
at a time in either direction, as the S3 console shows it.

ListObjectsV2 only goes forward; the console also goes back a page, so its cursor is the entry
it stops at (a key, or a folder's common prefix), opaque in the URL as S3's continuation tokens are.
Keys are compared in UTF-8 binary order (the models' collation), which is Python's code point
order: every key in [prefix, bound) starts with prefix when bound does, so no LIKE is needed
(SQLite's LIKE ignores case).
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterator

from django.db import transaction

from ..models import Bucket, S3Object
from ..wire.errors import BucketNotEmpty
from . import events
from .objects import object_delete

DELIMITER = "/"
AFTER_DELIMITER = chr(ord(DELIMITER) + 1)  # "0": keys under "a/" all sort before "a0"


@dataclass
class Entry:
    """A folder (a common prefix, `obj` None) or an object, as listed under `prefix`."""

    key: str
    obj: S3Object | None = None

    @property
    def is_folder(self) -> bool:
        return self.obj is None


@dataclass
class Level:
    prefix: str
    entries: list[Entry] = field(default_factory=list)
    next_token: str | None = None  # ?after=: the page that follows
    previous_token: str | None = None  # ?before=: the page before


def encode_token(entry_key: str) -> str:
    return base64.urlsafe_b64encode(entry_key.encode("utf-8", "surrogateescape")).decode().rstrip("=")


def decode_token(token: str | None, prefix: str) -> str | None:
    """The entry a token names, or None when it is missing, malformed or not under `prefix`."""
    if not token:
        return None
    try:
        key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return key if key.startswith(prefix) and key != prefix else None


def _entry_of(key: str, prefix: str) -> str | None:
    """The folder `key` rolls up into under `prefix`, or None when it is listed itself."""
    rest = key[len(prefix):]
    cut = rest.find(DELIMITER)
    return prefix + rest[:cut + 1] if cut >= 0 else None


def _forward(bucket: Bucket, prefix: str, after: str | None, want: int) -> list[Entry]:
    entries: list[Entry] = []
    if after is None:
        lower, inclusive = prefix, True
    elif after.endswith(DELIMITER):  # a folder: skip everything under it
        lower, inclusive = after[:-1] + AFTER_DELIMITER, True
    else:
        lower, inclusive = after, False
    while len(entries) < want:
        rows = S3Object.objects.filter(bucket=bucket, **{"key__gte" if inclusive else "key__gt": lower})
        batch = list(rows.order_by("key")[:want - len(entries)])
        if not batch:
            break
        for obj in batch:
            if not obj.key.startswith(prefix):
                return entries
            if obj.key == prefix:  # the folder's own marker object: the console does not list it
                lower, inclusive = obj.key, False
                continue
            folder = _entry_of(obj.key, prefix)
            if folder is not None:
                entries.append(Entry(folder))
                lower, inclusive = folder[:-1] + AFTER_DELIMITER, True
                break  # the rest of the batch is under that folder
            entries.append(Entry(obj.key, obj))
            lower, inclusive = obj.key, False
    return entries


def _backward(bucket: Bucket, prefix: str, before: str, want: int) -> list[Entry]:
    """Up to `want` entries before `before`, nearest first."""
    entries: list[Entry] = []
    upper = before
    while len(entries) < want:
        batch = list(S3Object.objects.filter(bucket=bucket, key__gte=prefix, key__lt=upper)
                     .exclude(key=prefix).order_by("-key")[:want - len(entries)])
        if not batch:
            break
        for obj in batch:
            folder = _entry_of(obj.key, prefix)
            if folder is not None:
                entries.append(Entry(folder))
                upper = folder  # everything under the folder sorts at or after it
                break
            entries.append(Entry(obj.key, obj))
            upper = obj.key
    return entries


def _has_before(bucket: Bucket, prefix: str, first: str) -> bool:
    return S3Object.objects.filter(bucket=bucket, key__gte=prefix, key__lt=first).exclude(key=prefix).exists()


def level_list(bucket: Bucket, prefix: str = "", *, after: str | None = None, before: str | None = None,
               page_size: int = 100) -> Level:
    """One page of the folder at `prefix`: folders and objects in key order."""
    after, before = decode_token(after, prefix), decode_token(before, prefix)
    if before is not None:
        back = _backward(bucket, prefix, before, page_size + 1)
        if len(back) > page_size:
            entries = list(reversed(back[:page_size]))
            return Level(prefix, entries, next_token=encode_token(entries[-1].key),
                         previous_token=encode_token(entries[0].key))
        after = None  # fewer than a page before it: that is the first page
    entries = _forward(bucket, prefix, after, page_size + 1)
    level = Level(prefix, entries[:page_size])
    if len(entries) > page_size:
        level.next_token = encode_token(level.entries[-1].key)
    if level.entries and after is not None and _has_before(bucket, prefix, level.entries[0].key):
        level.previous_token = encode_token(level.entries[0].key)
    return level


def keys_under(bucket: Bucket, prefix: str) -> Iterator[str]:
    """Every key starting with `prefix` (a folder's whole content, its marker included)."""
    for key in S3Object.objects.filter(bucket=bucket, key__gte=prefix).order_by("key").values_list("key", flat=True).iterator():
        if not key.startswith(prefix):
            return
        yield key


def objects_delete(bucket: Bucket, keys: list[str], principal, source_ip: str = "127.0.0.1") -> int:
    """Delete these keys, folders ("…/") with everything under them, as the console's Delete does
    through DeleteObjects: one ObjectRemoved:Delete event per object removed. Returns how many."""
    removed = 0
    for key in keys:
        targets = list(keys_under(bucket, key)) if key.endswith(DELIMITER) else [key]
        for target in targets:
            if object_delete(bucket, target, events.Change("ObjectRemoved:Delete", target, principal=principal,
                                                           source_ip=source_ip)):
                removed += 1
    return removed


def bucket_remove(bucket: Bucket) -> None:
    """DeleteBucket's rule: a bucket with any object left is refused (BucketNotEmpty)."""
    with transaction.atomic():
        if S3Object.objects.filter(bucket=bucket).exists():
            raise BucketNotEmpty(BucketName=bucket.name)
        bucket.delete()
