"""S3 multipart upload through the real server with unchanged boto3 and the AWS CLI.

Shapes and errors follow the S3 API reference: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads, ListParts
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html and siblings), and the
User Guide's "Amazon S3 multipart upload limits" (parts 1..10,000, all but the last at least 5 MiB).
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zlib
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from console.s3 import storage
from console.s3.models import MultipartUpload, S3Object, UploadPart
from console.s3.services.multipart import MIN_PART_SIZE
from console.s3.wire import checksums

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        for _ in range(size // MB):
            handle.write(os.urandom(MB))
        handle.write(os.urandom(size % MB))
    return path


def multipart_etag(*parts: bytes) -> str:
    """The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, then "-<count>"."""
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def composite_crc32(parts: list[bytes]) -> str:
    """S3's COMPOSITE CRC32 (User Guide, "Checking object integrity"): the CRC32 of the parts' CRC32s, "-N"."""
    crcs = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    return base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + f"-{len(parts)}"


def quiet_client(client):
    """The client's credentials in a boto3 client that sends checksums only where an operation requires them."""
    credentials = client._request_signer._credentials.get_frozen_credentials()
    return boto3.client("s3", endpoint_url=client.meta.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                        config=Config(request_checksum_calculation="when_required"))


def error_code(caught: pytest.ExceptionInfo) -> str:
    return caught.value.response["Error"]["Code"]


def test_upload_file_of_20_mb_round_trips_byte_for_byte(alice_s3, tmp_path):
    # boto3's upload_file goes multipart above 8 MB (TransferConfig's default threshold), in 8 MB parts.
    source = random_file(tmp_path / "big.bin", 20 * MB)
    alice_s3.create_bucket(Bucket="big-files")
    alice_s3.upload_file(str(source), "big-files", "videos/big.bin")

    listing = alice_s3.list_objects_v2(Bucket="big-files")
    assert [(o["Key"], o["Size"]) for o in listing["Contents"]] == [("videos/big.bin", 20 * MB)]
    assert listing["Contents"][0]["ETag"].endswith('-3"')
    assert alice_s3.list_multipart_uploads(Bucket="big-files").get("Uploads", []) == []

    target = tmp_path / "back.bin"
    alice_s3.download_file("big-files", "videos/big.bin", str(target))
    assert sha256(target) == sha256(source)
    obj = S3Object.objects.get(bucket__name="big-files", key="videos/big.bin")
    assert (obj.parts_count, obj.part_sizes) == (3, [8 * MB, 8 * MB, 4 * MB])
    # upload_file asks for CRC32 (boto3 >= 1.36): the object's checksum is the COMPOSITE of its parts'.
    data = source.read_bytes()
    parts = [data[:8 * MB], data[8 * MB:16 * MB], data[16 * MB:]]
    assert (obj.checksums, obj.checksum_type) == ({"CRC32": composite_crc32(parts)}, "COMPOSITE")
    assert not UploadPart.objects.exists()  # the parts' rows (and blobs) went with the upload


def test_aws_cli_cp_20_mb_both_ways(alice_s3, tmp_path):
    credentials = alice_s3._request_signer._credentials.get_frozen_credentials()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": alice_s3.meta.endpoint_url,
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    env.pop("AWS_SESSION_TOKEN", None)
    source = random_file(tmp_path / "cli.bin", 20 * MB)
    alice_s3.create_bucket(Bucket="cli-files")

    def aws(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("s3", "cp", str(source), "s3://cli-files/in/cli.bin")
    head = alice_s3.head_object(Bucket="cli-files", Key="in/cli.bin")
    assert head["ContentLength"] == 20 * MB and head["ETag"].endswith('-3"')
    aws("s3", "cp", "s3://cli-files/in/cli.bin", str(tmp_path / "cli-back.bin"))
    assert sha256(tmp_path / "cli-back.bin") == sha256(source)


def test_parts_listed_replaced_copied_and_completed(alice_s3):
    alice_s3.create_bucket(Bucket="parts")
    source = os.urandom(MIN_PART_SIZE + 10)
    alice_s3.put_object(Bucket="parts", Key="source.bin", Body=source)
    created = alice_s3.create_multipart_upload(Bucket="parts", Key="docs/report.txt", ContentType="text/plain",
                                               Metadata={"owner": "alice"}, Tagging="team=blue&year=2026",
                                               ContentDisposition='attachment; filename="report.txt"')
    upload_id = created["UploadId"]
    assert (created["Bucket"], created["Key"]) == ("parts", "docs/report.txt")

    first, third = os.urandom(MIN_PART_SIZE), b"tail of the report"
    second = source[5:MIN_PART_SIZE + 5]
    stale = alice_s3.upload_part(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumber=1,
                                 Body=b"x" * MIN_PART_SIZE)
    one = alice_s3.upload_part(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumber=1, Body=first)
    assert one["ETag"] == '"' + hashlib.md5(first).hexdigest() + '"' != stale["ETag"]
    # UploadPartCopy: a range of another object becomes part 2.
    two = alice_s3.upload_part_copy(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumber=2,
                                    CopySource={"Bucket": "parts", "Key": "source.bin"},
                                    CopySourceRange=f"bytes=5-{MIN_PART_SIZE + 4}")["CopyPartResult"]
    assert two["ETag"] == '"' + hashlib.md5(second).hexdigest() + '"'
    with pytest.raises(ClientError) as caught:  # a range past the source's end
        alice_s3.upload_part_copy(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumber=4,
                                  CopySource="parts/source.bin", CopySourceRange=f"bytes=0-{len(source)}")
    assert error_code(caught) == "InvalidArgument"
    three = alice_s3.upload_part(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumber=3, Body=third)

    page = alice_s3.list_parts(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, MaxParts=2)
    assert [(p["PartNumber"], p["Size"]) for p in page["Parts"]] == [(1, MIN_PART_SIZE), (2, MIN_PART_SIZE)]
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 2
    rest = alice_s3.list_parts(Bucket="parts", Key="docs/report.txt", UploadId=upload_id, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3] and not rest["IsTruncated"]
    assert len(UploadPart.objects.filter(upload__upload_id=upload_id)) == 3  # the re-sent part replaced the first

    uploads = alice_s3.list_multipart_uploads(Bucket="parts")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("docs/report.txt", upload_id)]
    folders = alice_s3.list_multipart_uploads(Bucket="parts", Delimiter="/")
    assert folders.get("Uploads", []) == [] and folders["CommonPrefixes"] == [{"Prefix": "docs/"}]

    done = alice_s3.complete_multipart_upload(
        Bucket="parts", Key="docs/report.txt", UploadId=upload_id,
        # ETags with or without their quotes, as S3 takes them.
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": one["ETag"]},
                                   {"PartNumber": 2, "ETag": two["ETag"].strip('"')},
                                   {"PartNumber": 3, "ETag": three["ETag"]}]})
    assert done["ETag"] == multipart_etag(first, second, third)
    assert (done["Bucket"], done["Key"]) == ("parts", "docs/report.txt")
    assert done["Location"].endswith("/parts/docs/report.txt")
    got = alice_s3.get_object(Bucket="parts", Key="docs/report.txt")
    assert got["Body"].read() == first + second + third
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"owner": "alice"}
    assert got["ContentDisposition"] == 'attachment; filename="report.txt"' and got["ETag"] == done["ETag"]
    tags = alice_s3.get_object_tagging(Bucket="parts", Key="docs/report.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "blue"}, {"Key": "year", "Value": "2026"}]
    with pytest.raises(ClientError) as caught:
        alice_s3.list_parts(Bucket="parts", Key="docs/report.txt", UploadId=upload_id)
    assert error_code(caught) == "NoSuchUpload"

    # GetObject/HeadObject's PartNumber: that part's bytes, as a range, and the object's part count.
    part = alice_s3.get_object(Bucket="parts", Key="docs/report.txt", PartNumber=2)
    assert part["Body"].read() == second and part["PartsCount"] == 3
    total = 2 * MIN_PART_SIZE + len(third)
    assert part["ContentRange"] == f"bytes {MIN_PART_SIZE}-{2 * MIN_PART_SIZE - 1}/{total}"
    head = alice_s3.head_object(Bucket="parts", Key="docs/report.txt", PartNumber=3)
    assert (head["ContentLength"], head["PartsCount"]) == (len(third), 3)
    with pytest.raises(ClientError) as caught:
        alice_s3.head_object(Bucket="parts", Key="docs/report.txt", PartNumber=4)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_list_multipart_uploads_pages_with_markers(alice_s3):
    alice_s3.create_bucket(Bucket="many-uploads")
    ids = [alice_s3.create_multipart_upload(Bucket="many-uploads", Key=key)["UploadId"]
           for key in ("a", "b", "b", "c/1", "c/2")]
    page = alice_s3.list_multipart_uploads(Bucket="many-uploads", MaxUploads=2)
    assert [u["UploadId"] for u in page["Uploads"]] == ids[:2] and page["IsTruncated"]
    # A key's uploads in the order they began; the next page starts after the last upload listed.
    page = alice_s3.list_multipart_uploads(Bucket="many-uploads", MaxUploads=2, KeyMarker=page["NextKeyMarker"],
                                           UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["UploadId"] for u in page["Uploads"]] == ids[2:4]
    page = alice_s3.list_multipart_uploads(Bucket="many-uploads", Prefix="c/")
    assert [u["Key"] for u in page["Uploads"]] == ["c/1", "c/2"] and not page["IsTruncated"]


def test_bad_parts_lists_store_nothing(alice_s3):
    alice_s3.create_bucket(Bucket="strict")
    upload_id = alice_s3.create_multipart_upload(Bucket="strict", Key="k")["UploadId"]
    big, small, tail = os.urandom(MIN_PART_SIZE), b"small", b"tail"
    etags = {n: alice_s3.upload_part(Bucket="strict", Key="k", UploadId=upload_id, PartNumber=n, Body=body)["ETag"]
             for n, body in ((1, big), (2, small), (3, tail))}

    def complete(parts, upload=upload_id) -> str:
        with pytest.raises(ClientError) as caught:
            alice_s3.complete_multipart_upload(Bucket="strict", Key="k", UploadId=upload,
                                               MultipartUpload={"Parts": parts})
        assert not S3Object.objects.filter(bucket__name="strict").exists()
        return error_code(caught)

    assert complete([{"PartNumber": 2, "ETag": etags[2]}, {"PartNumber": 1, "ETag": etags[1]}]) == "InvalidPartOrder"
    assert complete([{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 2, "ETag": etags[3]}]) == "InvalidPart"
    assert complete([{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 4, "ETag": etags[3]}]) == "InvalidPart"
    assert complete([{"PartNumber": 2, "ETag": etags[2]}, {"PartNumber": 3, "ETag": etags[3]}]) == "EntityTooSmall"
    assert complete([]) == "MalformedXML"
    assert complete([{"PartNumber": 1, "ETag": etags[1]}], upload="no-such-upload") == "NoSuchUpload"
    with pytest.raises(ClientError) as caught:
        alice_s3.upload_part(Bucket="strict", Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert error_code(caught) == "InvalidArgument"
    with pytest.raises(ClientError) as caught:
        alice_s3.upload_part(Bucket="strict", Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert error_code(caught) == "NoSuchUpload"

    # Refused lists leave the upload as it was: the right list still completes it.
    done = alice_s3.complete_multipart_upload(Bucket="strict", Key="k", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 3, "ETag": etags[3]}]})
    assert done["ETag"] == multipart_etag(big, tail)
    assert alice_s3.get_object(Bucket="strict", Key="k")["Body"].read() == big + tail


def test_composite_checksum_of_parts(alice_s3):
    # CreateMultipartUpload's x-amz-checksum-algorithm: each part carries that checksum (sent by the client
    # or computed here), CompleteMultipartUpload checks the ones listed and the object's is COMPOSITE.
    alice_s3.create_bucket(Bucket="checked")
    created = alice_s3.create_multipart_upload(Bucket="checked", Key="k", ChecksumAlgorithm="SHA256")
    assert created["ChecksumAlgorithm"] == "SHA256"
    upload_id = created["UploadId"]
    bodies = [os.urandom(MIN_PART_SIZE), b"the end"]
    sums = [base64.b64encode(hashlib.sha256(b).digest()).decode() for b in bodies]
    with pytest.raises(ClientError) as caught:
        alice_s3.upload_part(Bucket="checked", Key="k", UploadId=upload_id, PartNumber=1, Body=bodies[0],
                             ChecksumSHA256=sums[1])
    assert error_code(caught) == "BadDigest"
    sent = alice_s3.upload_part(Bucket="checked", Key="k", UploadId=upload_id, PartNumber=1, Body=bodies[0],
                                ChecksumAlgorithm="SHA256")
    assert sent["ChecksumSHA256"] == sums[0]
    with pytest.raises(ClientError) as caught:  # boto3's default CRC32 is not the upload's algorithm
        alice_s3.upload_part(Bucket="checked", Key="k", UploadId=upload_id, PartNumber=2, Body=bodies[1])
    assert error_code(caught) == "InvalidRequest"
    # A client that sends no checksum: the part's is computed here.
    quiet_client(alice_s3).upload_part(Bucket="checked", Key="k", UploadId=upload_id, PartNumber=2, Body=bodies[1])
    listed = alice_s3.list_parts(Bucket="checked", Key="k", UploadId=upload_id)["Parts"]
    assert [p["ChecksumSHA256"] for p in listed] == sums

    parts = [{"PartNumber": 1, "ETag": sent["ETag"], "ChecksumSHA256": sums[0]},
             {"PartNumber": 2, "ETag": listed[1]["ETag"], "ChecksumSHA256": sums[0]}]
    with pytest.raises(ClientError) as caught:
        alice_s3.complete_multipart_upload(Bucket="checked", Key="k", UploadId=upload_id,
                                           MultipartUpload={"Parts": parts})
    assert error_code(caught) == "InvalidPart"
    parts[1]["ChecksumSHA256"] = sums[1]
    done = alice_s3.complete_multipart_upload(Bucket="checked", Key="k", UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})
    expected = hashlib.sha256(b"".join(base64.b64decode(v) for v in sums)).digest()
    assert done["ChecksumSHA256"] == base64.b64encode(expected).decode() + "-2"
    assert done["ChecksumType"] == "COMPOSITE"


def test_crc64nvme_upload_gets_a_full_object_checksum(alice_s3):
    # CRC64NVME's only checksum type is FULL_OBJECT: the whole object's CRC, not one of its parts' CRCs.
    # boto3 computes CRC64NVME only with awscrt, so the parts here come without one and it is computed here.
    client = quiet_client(alice_s3)
    client.create_bucket(Bucket="full")
    with pytest.raises(ClientError) as caught:
        client.create_multipart_upload(Bucket="full", Key="k", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT")
    assert error_code(caught) == "InvalidRequest"
    created = client.create_multipart_upload(Bucket="full", Key="k", ChecksumAlgorithm="CRC64NVME")
    assert created["ChecksumType"] == "FULL_OBJECT"
    upload_id, bodies = created["UploadId"], [os.urandom(MIN_PART_SIZE), b"the end"]
    parts = [{"PartNumber": n, "ETag": client.upload_part(Bucket="full", Key="k", UploadId=upload_id, PartNumber=n,
                                                          Body=body)["ETag"]} for n, body in enumerate(bodies, 1)]

    def complete(**claims):
        return client.complete_multipart_upload(Bucket="full", Key="k", UploadId=upload_id,
                                                MultipartUpload={"Parts": parts}, **claims)

    for claims in ({"ChecksumType": "COMPOSITE"}, {"MpuObjectSize": MIN_PART_SIZE}):
        with pytest.raises(ClientError) as caught:
            complete(**claims)
        assert error_code(caught) == "InvalidRequest"
    with pytest.raises(ClientError) as caught:
        complete(ChecksumCRC64NVME=checksums.b64("CRC64NVME", b"something else"))
    assert error_code(caught) == "BadDigest"
    assert not S3Object.objects.filter(bucket__name="full").exists()
    expected = checksums.b64("CRC64NVME", b"".join(bodies))
    done = complete(ChecksumCRC64NVME=expected, MpuObjectSize=MIN_PART_SIZE + len(bodies[1]))
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (expected, "FULL_OBJECT")


def test_abort_removes_the_parts_from_disk(alice_s3, charlie_s3):
    alice_s3.create_bucket(Bucket="aborted")
    upload_id = alice_s3.create_multipart_upload(Bucket="aborted", Key="k")["UploadId"]
    for number in (1, 2):
        alice_s3.upload_part(Bucket="aborted", Key="k", UploadId=upload_id, PartNumber=number, Body=b"x" * 1000)
    files = [storage.blob_path(blob) for blob in UploadPart.objects.values_list("blob", flat=True)]
    assert len(files) == 2 and all(path.is_file() for path in files)

    with pytest.raises(ClientError) as caught:
        charlie_s3.abort_multipart_upload(Bucket="aborted", Key="k", UploadId=upload_id)
    assert error_code(caught) == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        charlie_s3.list_multipart_uploads(Bucket="aborted")
    assert error_code(caught) == "AccessDenied"

    response = alice_s3.abort_multipart_upload(Bucket="aborted", Key="k", UploadId=upload_id)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not any(path.exists() for path in files)
    assert not MultipartUpload.objects.exists() and not S3Object.objects.exists()
    with pytest.raises(ClientError) as caught:
        alice_s3.abort_multipart_upload(Bucket="aborted", Key="k", UploadId=upload_id)
    assert error_code(caught) == "NoSuchUpload"


# --- The rules, called directly ------------------------------------------------------------------

@pytest.mark.django_db
def test_listing_rolls_keys_into_common_prefixes_and_resumes_after_one(alice_account):
    from console.s3.models import Bucket
    from console.s3.services.multipart import upload_create, uploads_list

    bucket = Bucket.objects.create(name="rules", account=alice_account)
    for key in ("a/1", "a/2", "b", "c/1"):
        upload_create(bucket, key, {}, "arn:aws:iam::111111111111:user/alice")
    first = uploads_list(bucket, delimiter="/", max_uploads=1)
    assert (first.prefixes, first.uploads, first.truncated, first.next_key_marker) == (["a/"], [], True, "a/")
    rest = uploads_list(bucket, delimiter="/", key_marker=first.next_key_marker)
    assert [u.key for u in rest.uploads] == ["b"] and rest.prefixes == ["c/"] and not rest.truncated

