"""The request body as the operation consumes it: streamed, decoded and checked on the way.

What x-amz-content-sha256 says the payload is decides how it is read (S3 API reference,
"Authenticating Requests (AWS Signature Version 4)"):
- a hex SHA-256: the body is hashed as it streams; a mismatch is XAmzContentSHA256Mismatch,
  raised after the last byte and before anything is committed;
- UNSIGNED-PAYLOAD (or no header, as presigned URLs and SigV2 send): taken as it comes;
- STREAMING-...: an aws-chunked body, decoded (and its chunk signatures and trailing checksum
  verified) by `chunked.py`.
Content-MD5, when sent, is checked the same way (BadDigest). Readers raise S3 errors only.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import AsyncIterator

from . import chunked
from .errors import BadDigest, IncompleteBody, InvalidDigest, MalformedXML, XAmzContentSHA256Mismatch
from .request import S3Request

UNSIGNED = "UNSIGNED-PAYLOAD"


class ClientGone(Exception):
    """The client hung up before sending the whole body: nothing is stored, nothing answered."""


async def raw_chunks(req: S3Request) -> AsyncIterator[bytes]:
    """The body's bytes as the ASGI server hands them over."""
    req.body_consumed = True
    while True:
        message = await req.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _content_md5(req: S3Request) -> bytes | None:
    value = req.headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest(**{"Content-MD5": value})
    if len(digest) != 16:
        raise InvalidDigest(**{"Content-MD5": value})
    return digest


async def payload(req: S3Request) -> AsyncIterator[bytes]:
    """The decoded payload in chunks; raises on a digest mismatch after the last chunk."""
    claimed = req.headers.get("x-amz-content-sha256", UNSIGNED)
    wanted_md5 = _content_md5(req)
    md5 = hashlib.md5() if wanted_md5 is not None else None
    if claimed.upper().startswith("STREAMING-"):
        source = chunked.decode(req, raw_chunks(req))
        sha = None
    else:
        source = raw_chunks(req)
        sha = hashlib.sha256() if claimed != UNSIGNED else None
    expected_length = req.content_length if not claimed.upper().startswith("STREAMING-") else None
    size = 0
    async for chunk in source:
        size += len(chunk)
        if sha is not None:
            sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        yield chunk
    if expected_length is not None and size != expected_length:
        raise IncompleteBody()
    if sha is not None and not hmac.compare_digest(sha.hexdigest(), claimed.lower()):
        raise XAmzContentSHA256Mismatch(ClientComputedContentSHA256=claimed, S3ComputedContentSHA256=sha.hexdigest())
    if md5 is not None and md5.digest() != wanted_md5:
        raise BadDigest(ExpectedDigest=wanted_md5.hex(), CalculatedDigest=base64.b64encode(md5.digest()).decode())


async def read_all(req: S3Request, limit: int) -> bytes:
    """A small body (an XML document) whole; over `limit` bytes it is refused."""
    chunks, size = [], 0
    async for chunk in payload(req):
        size += len(chunk)
        if size > limit:
            raise MalformedXML()
        chunks.append(chunk)
    return b"".join(chunks)


async def drain(req: S3Request) -> None:
    """Read and drop what is left of a body (before answering an error, so the connection stays usable)."""
    if req.body_consumed:
        return
    try:
        async for _ in raw_chunks(req):
            pass
    except ClientGone:
        pass
