"""aws-chunked request bodies, decoded as they stream (S3 API reference, "Signature Calculations for
the Authorization Header: Transferring Payload in Multiple Chunks (Chunked Upload)" and "...:
Including Trailing Headers (Chunked Upload)").

x-amz-content-sha256 says which form the body has:
- STREAMING-AWS4-HMAC-SHA256-PAYLOAD: `<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n` ... a last
  chunk of size 0. Each signature signs the chunk's data and the previous signature, starting
  from the Authorization header's (the seed): chunks cannot be changed, dropped or reordered.
- STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, then trailing headers
  (`x-amz-checksum-crc32:...`) and `x-amz-trailer-signature`, chained from the last chunk's.
- STREAMING-UNSIGNED-PAYLOAD-TRAILER: `<hex size>\\r\\n<data>\\r\\n` with no signatures, then the
  trailing headers (what SDKs send over TLS, and the JavaScript SDK v3 always).
The trailers go to `req.auth_info["trailers"]` (checksums.verify reads them); the decoded size
must be x-amz-decoded-content-length. Every check fails after the last byte at the latest, so
the operation raises before committing anything.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import AsyncIterator

from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials

from .errors import IncompleteBody, InvalidArgument, MissingContentLength, SignatureDoesNotMatch, error
from .request import S3Request

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_LINE = 4096

MalformedTrailerError = error("MalformedTrailerError", 400, "The request contained trailing data that was not "
                              "well-formed or did not conform to our published schema.")


class _Context:
    """What botocore's signer reads from a request: the timestamp the signing key is derived for."""

    def __init__(self, amz_date: str) -> None:
        self.context = {"timestamp": amz_date}


class ChunkSigner:
    """Chunk and trailer signatures, chained from the seed (the Authorization header's signature).

    The HMAC chain is botocore's (S3SigV4Auth.signature over our string to sign)."""

    def __init__(self, access_key: str, secret: str, region: str, amz_date: str, seed: str) -> None:
        self.signer = S3SigV4Auth(Credentials(access_key, secret), "s3", region)
        self.request = _Context(amz_date)
        self.scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
        self.amz_date = amz_date
        self.previous = seed

    def chunk(self, data_sha256: str) -> str:
        string_to_sign = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, self.previous,
                                    EMPTY_SHA256, data_sha256))
        self.previous = self.signer.signature(string_to_sign, self.request)
        return self.previous

    def trailer(self, canonical_trailers: bytes) -> str:
        string_to_sign = "\n".join(("AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, self.previous,
                                    hashlib.sha256(canonical_trailers).hexdigest()))
        self.previous = self.signer.signature(string_to_sign, self.request)
        return self.previous


class _Stream:
    """Lines and counted bytes from the raw body, without copying more than once."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self.source = source.__aiter__()
        self.buf = b""
        self.pos = 0

    async def _more(self) -> None:
        try:
            chunk = await self.source.__anext__()
        except StopAsyncIteration:
            raise IncompleteBody()
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    async def line(self) -> bytes:
        """The next line, without its CRLF (a bare LF is taken too)."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 1
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) - self.pos > MAX_LINE:
                raise IncompleteBody()
            await self._more()

    async def take(self, size: int) -> AsyncIterator[bytes]:
        """`size` bytes, in the pieces they came in."""
        while size > 0:
            if self.pos >= len(self.buf):
                self.buf, self.pos = b"", 0
                await self._more()
            piece = self.buf[self.pos:self.pos + size]
            self.pos += len(piece)
            size -= len(piece)
            yield piece

    async def at_end(self) -> bool:
        if self.pos < len(self.buf):
            return False
        try:
            await self._more()
        except IncompleteBody:
            return True
        return not self.buf


def content_encoding(value: str) -> str:
    """Content-Encoding as stored: S3 drops `aws-chunked`, which only says how the request was sent."""
    return ",".join(part.strip() for part in value.split(",") if part.strip() and part.strip() != "aws-chunked")


def _signer(req: S3Request) -> ChunkSigner:
    info = req.auth_info
    if info.get("signing") != "header" or "seed" not in info:
        # Only a header-signed request has a seed signature to chain from.
        raise InvalidArgument("Unsupported content-sha256 value for a request signed this way",
                              ArgumentName="x-amz-content-sha256",
                              ArgumentValue=req.headers.get("x-amz-content-sha256", ""))
    return ChunkSigner(info["access_key"], info["secret"], info["region"], info["amz_date"], info["seed"])


def _decoded_length(req: S3Request) -> int:
    value = req.headers.get("x-amz-decoded-content-length")
    if value is None:
        raise MissingContentLength()
    try:
        length = int(value)
    except ValueError:
        raise InvalidArgument("x-amz-decoded-content-length must be a number", ArgumentName="x-amz-decoded-content-length",
                              ArgumentValue=value)
    if length < 0:
        raise InvalidArgument("x-amz-decoded-content-length must be non-negative",
                              ArgumentName="x-amz-decoded-content-length", ArgumentValue=value)
    return length


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    size_text, _, extension = line.partition(b";")
    try:
        size = int(size_text.strip(), 16)
    except ValueError:
        raise IncompleteBody()
    signature = None
    if extension:
        name, _, value = extension.partition(b"=")
        if name.strip() == b"chunk-signature":
            signature = value.strip().decode("latin-1")
    if signed and signature is None:
        raise IncompleteBody()
    return size, signature


def _expected_trailers(req: S3Request) -> list[str]:
    return [name.strip().lower() for name in req.headers.get("x-amz-trailer", "").split(",") if name.strip()]


async def _trailers(req: S3Request, stream: _Stream, signer: ChunkSigner | None) -> None:
    """The trailing headers after the last chunk; their signature checked when the body is signed."""
    trailers: dict[str, str] = {}
    canonical = b""
    signature = None
    while True:
        line = await stream.line()
        if not line.strip():
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise MalformedTrailerError()
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            signature = text
            continue
        trailers[key] = text
        canonical += f"{key}:{text}\n".encode("latin-1")
    expected = _expected_trailers(req)
    if sorted(trailers) != sorted(expected):
        raise MalformedTrailerError()
    if signer is not None:
        if signature is None or not hmac.compare_digest(signer.trailer(canonical), signature):
            raise SignatureDoesNotMatch()
    req.auth_info["trailers"] = trailers


async def decode(req: S3Request, raw_chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The payload of an aws-chunked body, chunk signatures and trailer checked; raises S3 errors."""
    mode = req.headers.get("x-amz-content-sha256", "").upper()
    if mode not in (SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER):
        raise InvalidArgument("Unsupported content-sha256 value", ArgumentName="x-amz-content-sha256",
                              ArgumentValue=req.headers.get("x-amz-content-sha256", ""))
    signer = _signer(req) if mode != UNSIGNED_TRAILER else None
    has_trailer = mode != SIGNED
    if has_trailer and not _expected_trailers(req):
        raise MalformedTrailerError()
    declared = _decoded_length(req)
    stream = _Stream(raw_chunks)
    size = 0
    while True:
        chunk_size, signature = _chunk_header(await stream.line(), signer is not None)
        sha = hashlib.sha256() if signer is not None else None
        async for piece in stream.take(chunk_size):
            size += len(piece)
            if size > declared:
                raise IncompleteBody()
            if sha is not None:
                sha.update(piece)
            yield piece
        if signer is not None and not hmac.compare_digest(signer.chunk(sha.hexdigest()), signature):
            raise SignatureDoesNotMatch()
        if chunk_size == 0:
            break
        if await stream.line() != b"":  # each chunk's data ends with CRLF
            raise IncompleteBody()
    if has_trailer:
        await _trailers(req, stream, signer)
    elif not await stream.at_end():
        await stream.line()  # the CRLF closing the last chunk
    if size != declared:
        raise IncompleteBody()
