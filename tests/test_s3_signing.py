"""How S3 requests are signed and encoded: presigned URLs (SigV4 query and Signature Version 2,
used with curl as a user would), SigV2 headers, and aws-chunked bodies (signed chunks, trailers).

Pages followed: S3 API reference "Authenticating Requests: Using Query Parameters (AWS Signature
Version 4)", "Signature Calculations for the Authorization Header: Transferring Payload in
Multiple Chunks (Chunked Upload)" (its example is the unit test below), "...: Including Trailing
Headers", and the S3 User Guide's "Signing and authenticating REST requests" (Signature Version 2).
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from console.s3.models import S3Object
from console.s3.wire import chunked
from console.s3.wire.checksums import b64
from console.s3.wire.errors import IncompleteBody, SignatureDoesNotMatch
from console.s3.wire.request import S3Request

from .api_helpers import REGION
from .test_authz import _allow, _role, _session_client

# --- The AWS example of a chunked upload (sigv4-streaming.html, "Example: PUT Object") ----------

EXAMPLE_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
EXAMPLE_DATE = "20130524T000000Z"
EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EXAMPLE_CHUNKS = [  # (data, the chunk-signature the page shows)
    (b"a" * 65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (b"a" * 1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (b"", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]


def example_body(chunks=EXAMPLE_CHUNKS) -> bytes:
    return b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(data), sig.encode(), data) for data, sig in chunks)


def stub_request(headers: dict[str, str], auth_info: dict | None = None) -> S3Request:
    return S3Request({"type": "http", "headers": []}, None, "PUT", "examplebucket", "chunkObject.txt", {},
                     headers, auth_info=auth_info or {})


def decode_all(req: S3Request, body: bytes, piece: int = 1000) -> bytes:
    async def source():
        for start in range(0, len(body), piece):
            yield body[start:start + piece]

    async def run():
        return b"".join([chunk async for chunk in chunked.decode(req, source())])

    # A thread of its own: the browser tests' Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def example_request() -> S3Request:
    info = {"signing": "header", "seed": EXAMPLE_SEED, "access_key": EXAMPLE_KEY[0], "secret": EXAMPLE_KEY[1],
            "region": "us-east-1", "amz_date": EXAMPLE_DATE}
    return stub_request({"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                         "x-amz-decoded-content-length": "66560", "content-encoding": "aws-chunked"}, info)


def test_chunk_signatures_chain_as_in_the_aws_example():
    signer = chunked.ChunkSigner(*EXAMPLE_KEY, "us-east-1", EXAMPLE_DATE, EXAMPLE_SEED)
    assert [signer.chunk(hashlib.sha256(data).hexdigest()) for data, _ in EXAMPLE_CHUNKS] == [
        sig for _, sig in EXAMPLE_CHUNKS]


@pytest.mark.parametrize("piece", [1, 7, 8192, 100000])
def test_the_aws_example_body_decodes_to_its_payload_however_it_is_split(piece):
    assert decode_all(example_request(), example_body(), piece) == b"a" * 66560


def test_a_changed_dropped_or_reordered_chunk_is_refused():
    body = example_body()
    tampered = body.replace(b"a" * 10, b"b" + b"a" * 9, 1)
    with pytest.raises(SignatureDoesNotMatch):
        decode_all(example_request(), tampered)
    swapped = example_body([EXAMPLE_CHUNKS[1], EXAMPLE_CHUNKS[0], EXAMPLE_CHUNKS[2]])
    with pytest.raises(SignatureDoesNotMatch):
        decode_all(example_request(), swapped)
    with pytest.raises(IncompleteBody):  # the stream ends before the last (empty) chunk
        decode_all(example_request(), example_body(EXAMPLE_CHUNKS[:2]))


def test_an_unsigned_trailer_body_as_botocore_encodes_it():
    data = b"hello trailer " * 5000
    wrapped = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum,
                                checksum_name="x-amz-checksum-crc32", chunk_size=8192).read()
    req = stub_request({"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                        "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))})
    assert decode_all(req, wrapped, 3000) == data
    crc = Crc32Checksum()
    crc.update(data)
    assert req.auth_info["trailers"] == {"x-amz-checksum-crc32": crc.b64digest()}
    short = stub_request({**req.headers, "x-amz-decoded-content-length": str(len(data) + 1)})
    with pytest.raises(IncompleteBody):
        decode_all(short, wrapped)


# --- Through the live server --------------------------------------------------------------------

def curl(*args: str) -> tuple[int, bytes]:
    """curl as a user types it; the status and the body."""
    done = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True,
                          check=True, timeout=30)
    body, _, status = done.stdout.rpartition(b"\n")
    return int(status), body


def error_of(body: bytes) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(body)}


def presigner(client, **config):
    """A client like `client` that presigns with `config` (say signature_version="s3v4")."""
    credentials = client._request_signer._credentials.get_frozen_credentials()
    return boto3.client("s3", endpoint_url=client.meta.endpoint_url, region_name=REGION,
                        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                        aws_session_token=credentials.token, config=Config(**config))


def stored() -> list[tuple[str, int]]:
    return sorted(S3Object.objects.values_list("key", "size"))


@pytest.mark.integration
@pytest.mark.parametrize("version", ["default", "s3v4"])
def test_presigned_get_and_put_work_with_curl(alice_s3, tmp_path, version):
    # boto3's default presigner is still Signature Version 2 (AWSAccessKeyId/Signature/Expires).
    signer = alice_s3 if version == "default" else presigner(alice_s3, signature_version="s3v4")
    alice_s3.create_bucket(Bucket="shared")
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "up/a b.txt"},
                                            ExpiresIn=300)
    assert ("X-Amz-Signature=" in put_url) == (version == "s3v4")
    assert ("AWSAccessKeyId=" in put_url) == (version == "default")
    upload = tmp_path / "a.txt"
    upload.write_bytes(b"uploaded by curl\n" * 1000)
    status, body = curl("-T", str(upload), put_url)
    assert status == 200, body
    get_url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "up/a b.txt"},
                                            ExpiresIn=300)
    status, body = curl(get_url)
    assert status == 200 and body == upload.read_bytes()
    # The response-* overrides are part of what is signed.
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "up/a b.txt",
                                                              "ResponseContentType": "text/plain"}, ExpiresIn=300)
    assert curl(url)[0] == 200


@pytest.mark.integration
@pytest.mark.parametrize("version", ["default", "s3v4"])
def test_a_tampered_presigned_url_is_signature_does_not_match_and_stores_nothing(alice_s3, tmp_path, version):
    signer = alice_s3 if version == "default" else presigner(alice_s3, signature_version="s3v4")
    alice_s3.create_bucket(Bucket="shared")
    alice_s3.put_object(Bucket="shared", Key="k", Body=b"original")
    upload = tmp_path / "evil.txt"
    upload.write_bytes(b"evil")
    url = signer.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "k"}, ExpiresIn=300)
    for tampered in (url.replace("/shared/k?", "/shared/other?"), url.replace("Expires=", "Expires=1")
                     if version == "default" else url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")):
        status, body = curl("-T", str(upload), tampered)
        fields = error_of(body)
        assert status == 403 and fields["Code"] == "SignatureDoesNotMatch", body
        assert fields["SignatureProvided"] and fields["StringToSign"] and fields["AWSAccessKeyId"]
    assert stored() == [("k", 8)]
    assert alice_s3.get_object(Bucket="shared", Key="k")["Body"].read() == b"original"


@pytest.mark.integration
@pytest.mark.parametrize("version", ["default", "s3v4"])
def test_an_expired_presigned_url_is_access_denied_with_s3s_fields(alice_s3, version):
    signer = alice_s3 if version == "default" else presigner(alice_s3, signature_version="s3v4")
    alice_s3.create_bucket(Bucket="shared")
    alice_s3.put_object(Bucket="shared", Key="k", Body=b"x")
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "k"}, ExpiresIn=1)
    time.sleep(2.1)
    status, body = curl(url)
    fields = error_of(body)
    assert status == 403 and fields["Code"] == "AccessDenied" and fields["Message"] == "Request has expired"
    assert fields["Expires"] < fields["ServerTime"]
    assert ("X-Amz-Expires" in fields) == (version == "s3v4")
    if version == "s3v4":
        assert fields["X-Amz-Expires"] == "1"


@pytest.mark.integration
@pytest.mark.parametrize("version", ["default", "s3v4"])
def test_presigned_urls_in_virtual_hosted_style(alice_s3, tmp_path, version):
    """<bucket>.s3.<LAMBDA_S3_DOMAIN>: SigV2 signs /bucket/key all the same, SigV4 signs the Host."""
    port = urlsplit(alice_s3.meta.endpoint_url).port
    config = {"s3": {"addressing_style": "virtual"}}
    if version == "s3v4":
        config["signature_version"] = "s3v4"
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    signer = boto3.client("s3", endpoint_url=f"http://s3.localhost:{port}", region_name=REGION,
                          aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                          config=Config(**config))
    alice_s3.create_bucket(Bucket="hosted")
    url = signer.generate_presigned_url("put_object", Params={"Bucket": "hosted", "Key": "v/h.txt"})
    assert url.startswith(f"http://hosted.s3.localhost:{port}/v/h.txt?")
    upload = tmp_path / "h.txt"
    upload.write_bytes(b"virtual")
    resolve = ["--resolve", f"hosted.s3.localhost:{port}:127.0.0.1"]
    assert curl(*resolve, "-T", str(upload), url)[0] == 200
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "hosted", "Key": "v/h.txt"})
    assert curl(*resolve, url) == (200, b"virtual")
    status, body = curl(*resolve, url.replace("/v/h.txt", "/v/other.txt"))
    assert status == 403 and error_of(body)["Code"] == "SignatureDoesNotMatch"


@pytest.mark.integration
def test_a_sigv4_expiry_over_a_week_or_a_missing_parameter_is_refused(alice_s3):
    signer = presigner(alice_s3, signature_version="s3v4")
    alice_s3.create_bucket(Bucket="shared")
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "k"}, ExpiresIn=604801)
    status, body = curl(url)
    fields = error_of(body)
    assert status == 400 and fields["Code"] == "AuthorizationQueryParametersError"
    assert fields["Message"] == ("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                                 "X-Amz-Expires must be less than 604800 seconds")  # S3's words
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "k"}, ExpiresIn=604800)
    assert error_of(curl(url)[1])["Code"] == "NoSuchKey"  # a week is allowed: past the signature check
    without = "&".join(p for p in url.split("&") if not p.startswith("X-Amz-Date="))
    status, body = curl(without)
    assert status == 400 and error_of(body)["Message"] == (
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
        "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")


@pytest.mark.integration
@pytest.mark.parametrize("version", ["default", "s3v4"])
def test_a_role_sessions_presigned_url_carries_its_token(live_server_url, alice_s3, alice_account, tmp_path,
                                                         version):
    alice_s3.create_bucket(Bucket="shared")
    role = _role(alice_account, "uploader", _allow("s3:PutObject"))
    session_s3, session = _session_client(live_server_url, role, service="s3")
    signer = session_s3 if version == "default" else presigner(session_s3, signature_version="s3v4")
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "by-role"})
    assert "ecurity-Token=" in put_url or "x-amz-security-token=" in put_url
    upload = tmp_path / "r.txt"
    upload.write_bytes(b"from the role")
    assert curl("-T", str(upload), put_url)[0] == 200
    assert alice_s3.get_object(Bucket="shared", Key="by-role")["Body"].read() == b"from the role"
    # The token is signed: another token (here none) does not pass.
    without = "&".join(p for p in put_url.split("&") if not p.lower().startswith("x-amz-security-token="))
    status, body = curl("-T", str(upload), without)
    assert status in (400, 403) and error_of(body)["Code"] in ("InvalidAccessKeyId", "SignatureDoesNotMatch")
    # The role may not read: its URL to GET is refused by its policy, as its own request would be.
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "by-role"})
    status, body = curl(url)
    assert status == 403 and error_of(body)["Code"] == "AccessDenied"
    assert stored() == [("by-role", 13)]


def sigv2_request(url: str, method: str, path: str, key: str, secret: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A request signed with Signature Version 2's Authorization header, by botocore's own signer."""
    request = AWSRequest(method=method, url=url + path, data=body, headers=headers or {})
    HmacV1Auth(Credentials(key, secret)).add_auth(request)
    raw = urllib.request.Request(url + path, data=body or None, method=method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.integration
def test_signature_version_2_headers(alice_s3):
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    url = alice_s3.meta.endpoint_url
    alice_s3.create_bucket(Bucket="old-tools")
    status, _ = sigv2_request(url, "PUT", "/old-tools/dir/v2.txt", credentials.access_key, credentials.secret_key,
                              b"signed the old way", {"Content-Type": "text/plain", "x-amz-meta-tool": "s3cmd"})
    assert status == 200
    got = alice_s3.get_object(Bucket="old-tools", Key="dir/v2.txt")
    assert got["Body"].read() == b"signed the old way" and got["Metadata"] == {"tool": "s3cmd"}
    status, body = sigv2_request(url, "GET", "/old-tools/dir/v2.txt", credentials.access_key, credentials.secret_key)
    assert status == 200 and body == b"signed the old way"
    status, body = sigv2_request(url, "GET", "/old-tools/dir/v2.txt", credentials.access_key, "wrong-secret")
    assert status == 403 and error_of(body)["Code"] == "SignatureDoesNotMatch"
    # A Date older than 15 minutes is too skewed.
    stale = formatdate(time.time() - 3600, usegmt=True)
    request = AWSRequest(method="GET", url=url + "/old-tools/dir/v2.txt")

    class Stale(HmacV1Auth):
        def _get_date(self):
            return stale

    Stale(Credentials(credentials.access_key, credentials.secret_key)).add_auth(request)
    status, body = curl(*sum((["-H", f"{k}: {v}"] for k, v in request.headers.items()), []),
                        url + "/old-tools/dir/v2.txt")
    assert status == 403 and error_of(body)["Code"] == "RequestTimeTooSkewed"


# --- aws-chunked bodies through the live server -----------------------------------------------

class LiteralPayload(S3SigV4Auth):
    """botocore's S3 signer with x-amz-content-sha256 set to a literal (STREAMING-...), as SDKs sign it."""

    def __init__(self, credentials, literal: str) -> None:
        super().__init__(credentials, "s3", REGION)
        self.literal = literal

    def payload(self, request):
        return self.literal


def streaming_put(url: str, path: str, key: str, secret: str, data: bytes, chunk_size: int = 65536,
                  trailer: str | None = None, tamper=None) -> tuple[int, bytes]:
    """A PutObject with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) body: the headers signed by
    botocore, the chunks signed by the chain the AWS page describes."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {"x-amz-content-sha256": mode, "content-encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    request = AWSRequest(method="PUT", url=url + path, headers=headers)
    LiteralPayload(Credentials(key, secret), mode).add_auth(request)
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    signer = chunked.ChunkSigner(key, secret, REGION, request.context["timestamp"], seed)
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    body = b""
    for piece in pieces:
        signature = signer.chunk(hashlib.sha256(piece).hexdigest())
        body += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(piece), signature.encode(), piece)
    if trailer:
        body = body[:-2]  # the last chunk's CRLF is followed by the trailers instead
        line = f"x-amz-checksum-crc32:{trailer}\n".encode()
        body += line.replace(b"\n", b"\r\n")
        body += b"x-amz-trailer-signature:%s\r\n\r\n" % signer.trailer(line).encode()
    if tamper:
        body = tamper(body)
    headers = dict(request.headers)
    raw = urllib.request.Request(url + path, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.integration
def test_signed_chunked_uploads_through_the_server(alice_s3):
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    url, key, secret = alice_s3.meta.endpoint_url, credentials.access_key, credentials.secret_key
    alice_s3.create_bucket(Bucket="chunks")
    data = bytes(range(256)) * 1000  # 256000 bytes: 4 chunks of 64 KB, the last shorter
    status, body = streaming_put(url, "/chunks/plain", key, secret, data)
    assert status == 200, body
    got = alice_s3.get_object(Bucket="chunks", Key="plain")
    assert got["Body"].read() == data and "ContentEncoding" not in got  # aws-chunked is not the object's encoding
    crc = b64("CRC32", data)
    status, body = streaming_put(url, "/chunks/trailed", key, secret, data, trailer=crc)
    assert status == 200, body
    got = alice_s3.get_object(Bucket="chunks", Key="trailed", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc and got["Body"].read() == data
    # A flipped byte, a wrong trailer, a wrong trailer signature: refused, nothing stored.
    status, body = streaming_put(url, "/chunks/bad1", key, secret, data,
                                 tamper=lambda b: b.replace(bytes(range(10)), bytes(range(1, 11)), 1))
    assert status == 403 and error_of(body)["Code"] == "SignatureDoesNotMatch"
    status, body = streaming_put(url, "/chunks/bad2", key, secret, data, trailer=b64("CRC32", b"other"))
    assert status == 400 and error_of(body)["Code"] == "BadDigest"
    assert error_of(body)["Message"] == "The CRC32 you specified did not match the calculated checksum."
    status, body = streaming_put(url, "/chunks/bad3", key, secret, data, trailer=crc,
                                 tamper=lambda b: b.replace(b"x-amz-trailer-signature:", b"x-amz-trailer-signature:0"))
    assert status == 403 and error_of(body)["Code"] == "SignatureDoesNotMatch"
    assert stored() == [("plain", len(data)), ("trailed", len(data))]


@pytest.mark.integration
def test_an_unsigned_trailer_upload_as_sdks_send_it_over_tls(alice_s3):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer: boto3 over https, the JavaScript SDK always."""
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    url = alice_s3.meta.endpoint_url
    alice_s3.create_bucket(Bucket="trailers")
    data = b"0123456789" * 30000
    body = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32",
                             chunk_size=65536).read()
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "content-encoding": "aws-chunked",
               "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data)),
               "x-amz-sdk-checksum-algorithm": "CRC32"}
    request = AWSRequest(method="PUT", url=url + "/trailers/t", headers=headers)
    LiteralPayload(Credentials(credentials.access_key, credentials.secret_key),
                   "STREAMING-UNSIGNED-PAYLOAD-TRAILER").add_auth(request)
    raw = urllib.request.Request(url + "/trailers/t", data=body, method="PUT", headers=dict(request.headers))
    with urllib.request.urlopen(raw, timeout=30) as response:
        assert response.status == 200
        assert response.headers["x-amz-checksum-crc32"] == b64("CRC32", data)
    assert alice_s3.get_object(Bucket="trailers", Key="t")["Body"].read() == data
