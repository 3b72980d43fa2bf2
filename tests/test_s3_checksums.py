"""S3's additional checksums: computed as CRC32, CRC32C, CRC64NVME, SHA1, SHA256; verified on PutObject
(header or aws-chunked trailer), stored, returned when asked.

Pages followed: S3 User Guide "Checking object integrity in Amazon S3" (algorithms, full-object
and composite types, x-amz-checksum-mode), S3 API reference PutObject/GetObject (the
x-amz-checksum-* headers); the error wording is what S3 answers (BadDigest "The CRC32 you
specified did not match the calculated checksum.", InvalidRequest "Value for
x-amz-checksum-sha256 header is invalid.").
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from console.s3.models import S3Object
from console.s3.wire import checksums

from .test_s3_signing import LiteralPayload, error_of, presigner

ROOT = Path(__file__).resolve().parent.parent
NODE_SDK = ROOT / "var" / "node-s3sdk" / "node_modules"  # npm install --prefix var/node-s3sdk @aws-sdk/client-s3


def b64_int(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


# --- The algorithms against known vectors --------------------------------------------------------

@pytest.mark.parametrize("algorithm,data,expected", [
    # The CRC catalogue's check values ("123456789"): CRC-32C/iSCSI and CRC-64/NVME.
    ("CRC32C", b"123456789", b64_int(0xE3069283, 4)),
    ("CRC64NVME", b"123456789", b64_int(0xAE8B14860A799888, 8)),
    ("CRC32", b"123456789", b64_int(0xCBF43926, 4)),
    # botocore's own test vectors for "Hello world" (tests/unit/test_httpchecksum.py).
    ("CRC32", b"Hello world", "i9aeUg=="),
    ("CRC32C", b"Hello world", "crUfeA=="),
    ("CRC64NVME", b"Hello world", "OOJZ0D8xKts="),
    ("SHA1", b"Hello world", "e1AsOh9IyGCa4hLN+2Od7jlnP14="),
    ("SHA256", b"Hello world", "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="),
    ("CRC32C", b"", "AAAAAA=="),
    ("CRC64NVME", b"", "AAAAAAAAAAA="),
])
def test_checksums_match_known_vectors(algorithm, data, expected):
    assert checksums.b64(algorithm, data) == expected


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME"])
def test_crcs_are_the_same_however_the_bytes_are_split(algorithm):
    data = os.urandom(10007)
    whole = checksums.b64(algorithm, data)
    digest = checksums.new(algorithm)
    for start in range(0, len(data), 333):
        digest.update(data[start:start + 333])
    assert base64.b64encode(digest.digest()).decode() == whole


def test_a_composite_checksum_is_the_checksum_of_the_parts_checksums():
    parts = [b"a" * 100, b"b" * 50]
    values = [checksums.b64("CRC32", part) for part in parts]
    raw = b"".join(zlib.crc32(part).to_bytes(4, "big") for part in parts)
    assert checksums.composite("CRC32", values) == f"{b64_int(zlib.crc32(raw), 4)}-2"
    sha = [checksums.b64("SHA256", part) for part in parts]
    raw = b"".join(hashlib.sha256(part).digest() for part in parts)
    assert checksums.composite("SHA256", sha) == base64.b64encode(hashlib.sha256(raw).digest()).decode() + "-2"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_a_full_object_crc_combines_from_the_parts_crcs(algorithm):
    parts = [os.urandom(size) for size in (300 * 1024, 1, 0, 777)]
    total = checksums.b64(algorithm, parts[0])
    for part in parts[1:]:
        total = checksums.combine(algorithm, total, checksums.b64(algorithm, part), len(part))
    assert total == checksums.b64(algorithm, b"".join(parts))


def test_the_table_driven_crcs_speed(capsys):
    """Not a timed assertion: the figure, for the report (they run only when a client asks)."""
    data = os.urandom(4 * 1024 * 1024)
    for algorithm in ("CRC32C", "CRC64NVME"):
        started = time.perf_counter()
        checksums.b64(algorithm, data)
        with capsys.disabled():
            print(f"\n{algorithm}: {len(data) / (time.perf_counter() - started) / 1e6:.1f} MB/s")


# --- Through the live server with boto3 ---------------------------------------------------------

def stored(bucket: str = "sums") -> dict[str, dict]:
    return {obj.key: obj.checksums for obj in S3Object.objects.filter(bucket__name=bucket)}


@pytest.mark.integration
def test_boto3s_default_crc32_is_verified_stored_and_returned_when_asked(alice_s3):
    alice_s3.create_bucket(Bucket="sums")
    body = b"Hello world"
    put = alice_s3.put_object(Bucket="sums", Key="hello", Body=body)  # boto3 1.36+: CRC32 by default
    assert put["ChecksumCRC32"] == "i9aeUg=="
    got = alice_s3.get_object(Bucket="sums", Key="hello", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == "i9aeUg==" and got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == body
    # boto3 asks for it on every GetObject (response_checksum_validation="when_supported") and checks
    # it; a client that does not ask gets none.
    bare = presigner(alice_s3, request_checksum_calculation="when_required",
                     response_checksum_validation="when_required")
    assert "ChecksumCRC32" not in bare.get_object(Bucket="sums", Key="hello")
    alice_s3.upload_fileobj(io.BytesIO(b"x" * 100000), "sums", "fileobj")
    assert stored()["fileobj"] == {"CRC32": checksums.b64("CRC32", b"x" * 100000)}
    # Replacing an object without a checksum leaves none of the old one.
    bare.put_object(Bucket="sums", Key="hello", Body=b"again")
    assert stored()["hello"] == {}
    assert "ChecksumCRC32" not in alice_s3.get_object(Bucket="sums", Key="hello", ChecksumMode="ENABLED")


@pytest.mark.integration
@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_boto3_computed_sha_checksums(alice_s3, algorithm):
    alice_s3.create_bucket(Bucket="sums")
    put = alice_s3.put_object(Bucket="sums", Key="k", Body=b"Hello world", ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == checksums.b64(algorithm, b"Hello world")
    assert stored() == {"k": {algorithm: checksums.b64(algorithm, b"Hello world")}}


@pytest.mark.integration
@pytest.mark.parametrize("algorithm,value", [("CRC32C", "crUfeA=="), ("CRC64NVME", "OOJZ0D8xKts=")])
def test_crc32c_and_crc64nvme_given_by_the_client(alice_s3, algorithm, value):
    # boto3 computes these only with awscrt; a client that has them sends the value it computed.
    alice_s3.create_bucket(Bucket="sums")
    put = alice_s3.put_object(Bucket="sums", Key="k", Body=b"Hello world", **{f"Checksum{algorithm}": value})
    assert put[f"Checksum{algorithm}"] == value
    got = alice_s3.get_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == value
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket="sums", Key="bad", Body=b"Hello World", **{f"Checksum{algorithm}": value})
    error = caught.value.response["Error"]
    assert error["Code"] == "BadDigest"
    assert error["Message"] == f"The {algorithm} you specified did not match the calculated checksum."
    assert set(stored()) == {"k"}


@pytest.mark.integration
def test_bad_checksum_headers_are_refused_and_nothing_is_stored(alice_s3):
    alice_s3.create_bucket(Bucket="sums")
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket="sums", Key="a", Body=b"Hello world", ChecksumCRC32="AAAAAA==")
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket="sums", Key="b", Body=b"Hello world", ChecksumSHA256="not-a-sha")
    assert caught.value.response["Error"] == {
        "Code": "InvalidRequest", "Message": "Value for x-amz-checksum-sha256 header is invalid."}
    # Two checksums at once.
    status, body = signed_put(alice_s3, "/sums/c", b"Hello world", {
        "x-amz-checksum-crc32": "i9aeUg==", "x-amz-checksum-sha1": checksums.b64("SHA1", b"Hello world")})
    assert status == 400 and error_of(body)["Message"] == (
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    assert stored() == {}


def signed_put(client, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    credentials = client._request_signer._credentials.get_frozen_credentials()
    url = client.meta.endpoint_url + path
    request = AWSRequest(method="PUT", url=url, data=body, headers=headers)
    LiteralPayload(Credentials(credentials.access_key, credentials.secret_key),
                   hashlib.sha256(body).hexdigest()).add_auth(request)
    raw = urllib.request.Request(url, data=body, method="PUT", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- The AWS SDK for JavaScript v3: aws-chunked with a CRC32 trailer ---------------------------

NODE_PUT = """
const fs = require("fs");
const { S3Client, PutObjectCommand, GetObjectCommand } = require("@aws-sdk/client-s3");
const [endpoint, accessKeyId, secretAccessKey, path] = process.argv.slice(2);
const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
                              credentials: { accessKeyId, secretAccessKey } });
async function roundTrip(Key, Body) {
  const put = await client.send(new PutObjectCommand({ Bucket: "sums", Key, Body }));
  const got = await client.send(new GetObjectCommand({ Bucket: "sums", Key, ChecksumMode: "ENABLED" }));
  const text = await got.Body.transformToString();
  return { etag: put.ETag, crc: put.ChecksumCRC32, got: text, gotCrc: got.ChecksumCRC32 };
}
(async () => {
  // A string is sent whole with a CRC32 header; a file stream as aws-chunked with a CRC32 trailer.
  const text = await roundTrip("from-string", fs.readFileSync(path, "utf8"));
  const stream = await roundTrip("from-stream", fs.createReadStream(path));
  console.log(JSON.stringify({ text, stream }));
})().catch((e) => { console.error(e.name, e.message); process.exit(1); });
"""


@pytest.mark.integration
@pytest.mark.skipif(not (NODE_SDK / "@aws-sdk" / "client-s3").exists() or not shutil.which("node"),
                    reason="the AWS SDK for JavaScript v3 is not installed under var/node-s3sdk")
def test_the_javascript_sdk_v3_put_object(alice_s3, tmp_path):
    alice_s3.create_bucket(Bucket="sums")
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    script = tmp_path / "put.js"
    script.write_text(NODE_PUT)
    body = "hello from node " * 20000  # 320 KB: several chunks of the file stream
    (tmp_path / "body.txt").write_text(body)
    done = subprocess.run(["node", str(script), alice_s3.meta.endpoint_url, credentials.access_key,
                           credentials.secret_key, str(tmp_path / "body.txt")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NODE_PATH": str(NODE_SDK)})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    crc = checksums.b64("CRC32", body.encode())
    expected = {"etag": f'"{hashlib.md5(body.encode()).hexdigest()}"', "crc": crc, "got": body, "gotCrc": crc}
    assert out == {"text": expected, "stream": expected}
    for obj in S3Object.objects.filter(key__in=["from-string", "from-stream"]):
        assert obj.checksums == {"CRC32": crc} and obj.content_encoding == "" and obj.size == len(body)
