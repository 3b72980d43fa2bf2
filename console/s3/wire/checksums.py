"""S3's additional checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256 (S3 User Guide, "Checking object
integrity in Amazon S3"; PutObject's x-amz-checksum-* and x-amz-sdk-checksum-algorithm headers).

A client names the checksum it wants either with its value in a header (`x-amz-checksum-crc32`:
computed before sending, as boto3 does over plain HTTP) or as a trailer (`x-amz-trailer:
x-amz-checksum-crc32`, the value after an aws-chunked body, as SDKs do over TLS and the
JavaScript SDK everywhere). How an operation uses this module:

    hashers = checksums.requested(req)           # before reading the body; refuses bad headers
    with BlobWriter(hashers=hashers) as writer:
        async for chunk in body.payload(req): writer.write(chunk)
    extra = checksums.verify(req, hashers)        # after the last byte: BadDigest / InvalidRequest
    ... object_store(..., extra=extra)            # checksums, checksum_algorithm, checksum_type
    headers.update(checksums.response_headers(obj, req, always=True))   # PutObject's answer

GetObject and HeadObject return the stored checksum only when asked (`x-amz-checksum-mode:
ENABLED`) and for the whole object. Multipart completion builds a COMPOSITE checksum of its
parts' checksums with `composite`, or a FULL_OBJECT CRC of the whole from the parts' CRCs and
sizes with `combine` (as zlib's crc32_combine).

zlib gives CRC32; CRC32C and CRC64NVME (no stdlib implementation, no new dependency allowed)
are table-driven here, reflected, 8 bytes per step ("slicing by 8"): a few MB/s in CPython, so
they only run when a client asks for them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import sys
import zlib
from typing import Any, Protocol

from .errors import BadDigest, InvalidRequest
from .request import S3Request

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
HEADER_PREFIX = "x-amz-checksum-"
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"
_U64 = struct.Struct("<Q")


def _words(view: memoryview):
    """The bytes as little-endian 64-bit words (a cast where the machine is little-endian: faster)."""
    if sys.byteorder == "little":
        return view.cast("Q")
    return (word for (word,) in _U64.iter_unpack(view))


def header_name(algorithm: str) -> str:
    return HEADER_PREFIX + algorithm.lower()


# --- The algorithms --------------------------------------------------------------------------

def _tables(poly: int, width: int) -> list[list[int]]:
    """Slicing-by-8 tables of a reflected CRC: tables[k][b] is byte b's CRC shifted through k more zero bytes."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[b] >> 8) ^ first[prev[b] & 0xFF] for b in range(256)])
    return tables


class _Crc:
    """A reflected CRC with init and final XOR all ones (CRC-32C/iSCSI, CRC-64/NVME)."""

    width = 32
    poly = 0
    _cache: dict[int, list[list[int]]] = {}

    def __init__(self) -> None:
        self.mask = (1 << self.width) - 1
        tables = _Crc._cache.get(self.poly)
        if tables is None:
            tables = _Crc._cache[self.poly] = _tables(self.poly, self.width)
        self.tables = tables
        self.crc = self.mask

    def update(self, data: bytes) -> None:
        t0, t1, t2, t3, t4, t5, t6, t7 = self.tables
        crc = self.crc
        view = memoryview(data)
        n = len(view) - len(view) % 8
        # Eight bytes a step, as little-endian words: a reflected CRC eats the lowest byte first.
        for x in _words(view[:n]):
            x ^= crc
            crc = (t7[x & 0xFF] ^ t6[(x >> 8) & 0xFF] ^ t5[(x >> 16) & 0xFF] ^ t4[(x >> 24) & 0xFF]
                   ^ t3[(x >> 32) & 0xFF] ^ t2[(x >> 40) & 0xFF] ^ t1[(x >> 48) & 0xFF] ^ t0[x >> 56])
        for byte in view[n:]:
            crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self.crc = crc

    def digest(self) -> bytes:
        return (self.crc ^ self.mask).to_bytes(self.width // 8, "big")


class Crc32C(_Crc):
    width, poly = 32, 0x82F63B78


class Crc64Nvme(_Crc):
    width, poly = 64, 0x9A6C9329AC4BC9B5


class Crc32:
    def __init__(self) -> None:
        self.crc = 0

    def update(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)

    def digest(self) -> bytes:
        return self.crc.to_bytes(4, "big")


class _Hash:
    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


class Digest(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


def new(algorithm: str) -> Digest:
    """A fresh running checksum of `algorithm` (one of ALGORITHMS)."""
    if algorithm == "CRC32":
        return Crc32()
    if algorithm == "CRC32C":
        return Crc32C()
    if algorithm == "CRC64NVME":
        return Crc64Nvme()
    return _Hash(algorithm.lower())


def b64(algorithm: str, data: bytes) -> str:
    """The checksum of `data` as S3 writes it (base64 of the big-endian value)."""
    digest = new(algorithm)
    digest.update(data)
    return base64.b64encode(digest.digest()).decode()


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """A multipart object's COMPOSITE checksum: the checksum of its parts' raw checksums, then `-N`
    (S3 User Guide, "Checking object integrity": "Using part-level checksums for multipart uploads")."""
    digest = new(algorithm)
    for value in part_checksums:
        digest.update(base64.b64decode(value))
    return f"{base64.b64encode(digest.digest()).decode()}-{len(part_checksums)}"


_POLYS = {"CRC32": (0xEDB88320, 32), "CRC32C": (Crc32C.poly, 32), "CRC64NVME": (Crc64Nvme.poly, 64)}


def _multmodp(a: int, b: int, poly: int, width: int) -> int:
    """a * b modulo the CRC's polynomial, both reflected (the top bit is x^0): zlib's multmodp."""
    m, product = 1 << (width - 1), 0
    while m:
        if a & m:
            product ^= b
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1
    return product


def combine(algorithm: str, first: str, second: str, second_length: int) -> str:
    """The CRC of A+B from CRC(A), CRC(B) and len(B), as zlib's crc32_combine (a FULL_OBJECT checksum
    of a multipart upload from its parts'): CRC(A) carried through len(B) zero bytes, XOR CRC(B)."""
    poly, width = _POLYS[algorithm]
    size = width // 8
    crc1 = int.from_bytes(base64.b64decode(first), "big")
    crc2 = int.from_bytes(base64.b64decode(second), "big")
    power = 1 << (width - 2)  # x^1, then x^2, x^4... (squared)
    shift = 1 << (width - 1)  # x^0: the product of the powers of x in 8 * len(B)
    bits = second_length * 8
    while bits:
        if bits & 1:
            shift = _multmodp(power, shift, poly, width)
        bits >>= 1
        power = _multmodp(power, power, poly, width)
    combined = _multmodp(shift, crc1, poly, width) ^ crc2
    return base64.b64encode(combined.to_bytes(size, "big")).decode()


# --- A request's checksum ----------------------------------------------------------------------

class Hasher:
    """The checksum a request asked for, fed by the BlobWriter as the payload streams."""

    def __init__(self, algorithm: str, expected: str | None, trailer: bool) -> None:
        self.algorithm = algorithm
        self.expected = expected  # the header's value; a trailer's arrives after the body
        self.trailer = trailer
        self._digest = new(algorithm)

    def update(self, data: bytes) -> None:
        self._digest.update(data)

    def b64(self) -> str:
        return base64.b64encode(self._digest.digest()).decode()


def _valid(algorithm: str, value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == SIZES[algorithm]
    except (binascii.Error, ValueError):
        return False


def requested(req: S3Request) -> list[Hasher]:
    """The checksum the request names (header or trailer), or []; InvalidRequest for contradictory headers."""
    headers = req.headers
    named = [a for a in ALGORITHMS if header_name(a) in headers]
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    trailed = [a for a in ALGORITHMS if trailer == header_name(a)]
    if trailer and trailer.startswith(HEADER_PREFIX) and not trailed:
        raise InvalidRequest("The value specified in the x-amz-trailer header is not supported")
    if len(named) + len(trailed) > 1:
        raise InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    sdk = headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if sdk and sdk not in ALGORITHMS:
        raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    if sdk and not named and not trailed:
        raise InvalidRequest("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                             "or x-amz-trailer headers were found.")
    if sdk and sdk != (named or trailed)[0]:
        raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    if named:
        algorithm = named[0]
        value = headers[header_name(algorithm)].strip()
        if not _valid(algorithm, value):
            raise InvalidRequest(f"Value for {header_name(algorithm)} header is invalid.")
        return [Hasher(algorithm, value, trailer=False)]
    if trailed:
        return [Hasher(trailed[0], None, trailer=True)]
    return []


def verify(req: S3Request, hashers: list[Hasher]) -> dict[str, Any]:
    """After the whole payload: the fields to store (S3Object.checksums, checksum_algorithm, checksum_type),
    or BadDigest when the client's value is not the body's (InvalidRequest when it is malformed)."""
    if not hashers:  # a replaced object keeps none of its predecessor's checksums
        return {"checksums": {}, "checksum_algorithm": "", "checksum_type": ""}
    hasher = hashers[0]
    name = header_name(hasher.algorithm)
    expected = hasher.expected
    if hasher.trailer:
        expected = (req.auth_info.get("trailers") or {}).get(name)
        if expected is None or not _valid(hasher.algorithm, expected.strip()):
            raise InvalidRequest(f"Value for {name} trailing header is invalid.")
        expected = expected.strip()
    actual = hasher.b64()
    if actual != expected:
        raise BadDigest(f"The {hasher.algorithm} you specified did not match the calculated checksum.")
    return {"checksums": {hasher.algorithm: actual}, "checksum_algorithm": hasher.algorithm,
            "checksum_type": FULL_OBJECT}


def response_headers(obj: Any, req: S3Request, always: bool = False) -> dict[str, str]:
    """x-amz-checksum-<algorithm> and x-amz-checksum-type of a stored object: on PutObject's answer
    (`always`), on GetObject/HeadObject only with `x-amz-checksum-mode: ENABLED` and not for a range."""
    if not obj.checksums:
        return {}
    if not always:
        if req.headers.get("x-amz-checksum-mode", "").upper() != "ENABLED" or "range" in req.headers:
            return {}
    headers = {header_name(algorithm): value for algorithm, value in obj.checksums.items()}
    if obj.checksum_type:
        headers["x-amz-checksum-type"] = obj.checksum_type
    return headers
