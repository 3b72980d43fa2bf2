"""Keep user metadata's header names as S3 sends them: lower case.

Daphne writes responses through Twisted, whose Headers turn every name into Http-Header-Case
(`x-amz-meta-owner` becomes `X-Amz-Meta-Owner`). Header names are case-insensitive, but S3's
user metadata keys are not: botocore takes the key from the name as received, so
head_object's Metadata would read {"Owner": ...} for what was stored as "owner". S3 answers
`x-amz-meta-*` in lower case (it lower-cases the keys it stores); this makes Twisted's name
encoder leave those names in lower case, everywhere it is used (request parsing and
response writing alike, so lookups stay consistent). Other names keep Twisted's casing.
"""
from __future__ import annotations

META_PREFIX = b"x-amz-meta-"


def install() -> None:
    try:
        from twisted.web import http, http_headers
    except ImportError:  # not served by Daphne
        return
    base = type(http_headers._nameEncoder)
    if getattr(base, "keeps_meta_case", False):
        return

    class MetaCaseEncoder(base):
        __slots__ = ()
        keeps_meta_case = True

        def encode(self, name: str | bytes) -> bytes:
            raw = name.encode("iso-8859-1") if isinstance(name, str) else name
            if raw[:11].lower() == META_PREFIX:
                lowered = raw.lower()
                super().encode(lowered)  # the same validation (a token, no whitespace)
                return lowered
            return super().encode(name)

    encoder = MetaCaseEncoder()
    http_headers._nameEncoder = encoder
    http._nameEncoder = encoder
