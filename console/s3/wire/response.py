"""What an operation answers: status, headers, and a body that is bytes or a stream of chunks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Iterator

from .xml import document


@dataclass
class S3Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # bytes, or chunks: a sync iterator is read in a worker thread (blob reads), an async one as is.
    body: bytes | Iterator[bytes] | AsyncIterator[bytes] = b""
    # Content-Length of a streamed body (required: S3 never answers chunked).
    length: int | None = None


def xml_response(root: str, inner: str, status: int = 200, headers: dict[str, str] | None = None) -> S3Response:
    return S3Response(status, {"Content-Type": "application/xml", **(headers or {})}, document(root, inner))


def empty(status: int = 200, headers: dict[str, str] | None = None) -> S3Response:
    return S3Response(status, dict(headers or {}), b"")
