"""One S3 request as the operations see it: addressing resolved, headers and query read, body unread.

Addressing (S3 User Guide, "Virtual hosting of buckets"): a host `<bucket>.s3.<LAMBDA_S3_DOMAIN>`
names the bucket and the whole path is the key; otherwise the path is `/<bucket>/<key>`
(path style, what SDKs use for an endpoint given by address). The key is the path as the
client percent-encoded it, decoded once: `a+b` stays `a+b`, `a%2Bb` is `a+b` too.
"""
from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

from django.conf import settings

from ...sigv4 import Principal

NOT_READ = object()
# Request ids unique per process without a system call each (uuid4 reads os.urandom).
_ID_PREFIX = uuid.uuid4().hex[:6].upper()
_ids = itertools.count(int.from_bytes(os.urandom(5), "big"))


def header_map(scope: dict) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


def bucket_of_host(host: str) -> str | None:
    """The bucket a virtual-hosted-style Host names, or None."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    suffix = f".s3.{settings.LAMBDA_S3_DOMAIN}"
    if name.lower().endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


@dataclass
class S3Request:
    scope: dict
    receive: Callable[[], Awaitable[dict]]
    method: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    headers: dict[str, str]
    virtual_host: bool = False
    request_id: str = field(default_factory=lambda: f"{_ID_PREFIX}{next(_ids) & 0xFFFFFFFFFF:010X}")
    principal: Principal | None = None
    operation: str = ""
    # Set by the authentication for the body reader: how the payload is signed or encoded.
    auth_info: dict[str, Any] = field(default_factory=dict)
    body_consumed: bool = False
    # The bucket's row (None: no such bucket), read in the same thread hop as the authentication
    # (wire/app.py): ops/common.py's bucket_for then needs no hop of its own. Unset: not read.
    bucket_record: Any = field(default=NOT_READ, repr=False)

    @classmethod
    def from_scope(cls, scope: dict, receive) -> "S3Request":
        headers = header_map(scope)
        raw = (scope.get("raw_path") or scope.get("path", "/").encode()).decode("latin-1").split("?", 1)[0]
        path = unquote(raw, encoding="utf-8", errors="surrogateescape")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        bucket = bucket_of_host(headers.get("host", ""))
        if bucket is not None:
            key = path[1:] or None
            return cls(scope, receive, scope.get("method", "GET"), bucket, key, query, headers, virtual_host=True)
        rest = path[1:]
        if not rest:
            return cls(scope, receive, scope.get("method", "GET"), None, None, query, headers)
        bucket, _, key = rest.partition("/")
        return cls(scope, receive, scope.get("method", "GET"), bucket, key or None, query, headers)

    @property
    def resource(self) -> str:
        """The path S3 names in an error's <Resource>."""
        return "/" + "/".join(part for part in (self.bucket, self.key) if part)

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            return None
