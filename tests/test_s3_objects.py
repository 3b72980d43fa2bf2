"""Objects through boto3 against the real server: what a user stores is what they get back.

Each test names the S3 API reference page whose behaviour it checks
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html).
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from botocore.exceptions import ClientError

from console.s3.models import S3Object

pytestmark = pytest.mark.integration


def error_of(caught) -> tuple[int, str, dict]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]


def keys_in(bucket: str) -> list[str]:
    return list(S3Object.objects.filter(bucket__name=bucket).values_list("key", flat=True))


@pytest.fixture
def bucket(alice_s3) -> str:
    alice_s3.create_bucket(Bucket="things")
    return "things"


def test_put_object_keeps_content_headers_metadata_and_tags(alice_s3, bucket):
    # API_PutObject / API_GetObject / API_HeadObject: what a PUT says is returned by GET and HEAD.
    alice_s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n1,2\n", ContentType="text/csv",
                        ContentDisposition='attachment; filename="r.csv"', ContentLanguage="en",
                        CacheControl="max-age=60", Metadata={"owner": "alice", "stage": "draft"},
                        Tagging="project=blue&team=data")
    got = alice_s3.get_object(Bucket=bucket, Key="report.csv")
    assert got["Body"].read() == b"a,b\n1,2\n"
    assert (got["ContentType"], got["ContentDisposition"], got["ContentLanguage"], got["CacheControl"]) == (
        "text/csv", 'attachment; filename="r.csv"', "en", "max-age=60")
    assert got["Metadata"] == {"owner": "alice", "stage": "draft"}
    assert got["TagCount"] == 2 and got["ContentLength"] == 8 and got["AcceptRanges"] == "bytes"
    head = alice_s3.head_object(Bucket=bucket, Key="report.csv")
    assert head["ETag"] == '"%s"' % hashlib.md5(b"a,b\n1,2\n").hexdigest() == got["ETag"]
    assert head["ContentLength"] == 8 and head["Metadata"] == got["Metadata"]
    assert head["LastModified"] == got["LastModified"]
    # API_GetObjectTagging: the header's tags, in order.
    assert alice_s3.get_object_tagging(Bucket=bucket, Key="report.csv")["TagSet"] == [
        {"Key": "project", "Value": "blue"}, {"Key": "team", "Value": "data"}]
    # An object PUT without a type is binary/octet-stream, as S3 stores it.
    alice_s3.put_object(Bucket=bucket, Key="blob", Body=b"\x00\x01")
    assert alice_s3.head_object(Bucket=bucket, Key="blob")["ContentType"] == "binary/octet-stream"


def test_a_refused_put_stores_nothing(alice_s3, bucket):
    # API_PutObject, "Errors": KeyTooLongError past 1024 bytes of UTF-8; bad tags; too much metadata.
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")  # 1026 bytes
    assert error_of(caught)[:2] == (400, "KeyTooLongError")
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="tagged", Body=b"x", Tagging="&".join(f"k{i}=v" for i in range(11)))
    assert error_of(caught)[:2] == (400, "BadRequest")
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="meta", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_of(caught)[:2] == (400, "MetadataTooLarge")
    alice_s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")  # exactly the limit is fine
    assert keys_in(bucket) == ["k" * 1024]


def test_ranges_answer_206_with_content_range(alice_s3, bucket):
    # API_GetObject, "Range": one byte range, RFC 9110 forms; S3 serves a single range.
    alice_s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")

    def ranged(spec: str):
        got = alice_s3.get_object(Bucket=bucket, Key="digits", Range=spec)
        return (got["ResponseMetadata"]["HTTPStatusCode"], got.get("ContentRange"), got["ContentLength"],
                got["Body"].read())

    assert ranged("bytes=2-5") == (206, "bytes 2-5/10", 4, b"2345")
    assert ranged("bytes=7-") == (206, "bytes 7-9/10", 3, b"789")
    assert ranged("bytes=-3") == (206, "bytes 7-9/10", 3, b"789")
    assert ranged("bytes=-30") == (206, "bytes 0-9/10", 10, b"0123456789")
    assert ranged("bytes=8-100") == (206, "bytes 8-9/10", 2, b"89")
    assert ranged("bytes=0-1,4-5") == (200, None, 10, b"0123456789")  # several ranges: the whole object
    head = alice_s3.head_object(Bucket=bucket, Key="digits", Range="bytes=1-2")
    assert head["ContentLength"] == 2 and head["ContentRange"] == "bytes 1-2/10"
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="digits", Range="bytes=10-")
    status, code, error = error_of(caught)
    assert (status, code) == (416, "InvalidRange")
    assert error["ActualObjectSize"] == "10" and error["RangeRequested"] == "bytes=10-"
    # "PartNumber": an object stored in one piece is its own part 1; a multipart one's parts as uploaded.
    whole = alice_s3.get_object(Bucket=bucket, Key="digits", PartNumber=1)
    assert (whole["ContentRange"], whole["Body"].read(), "PartsCount" in whole) == ("bytes 0-9/10", b"0123456789", False)
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="digits", PartNumber=2)
    assert error_of(caught)[:2] == (416, "InvalidPartNumber")
    S3Object.objects.filter(key="digits").update(parts_count=2, part_sizes=[4, 6])
    second = alice_s3.get_object(Bucket=bucket, Key="digits", PartNumber=2)
    assert (second["ContentRange"], second["PartsCount"], second["Body"].read()) == ("bytes 4-9/10", 2, b"456789")
    assert alice_s3.head_object(Bucket=bucket, Key="digits", PartNumber=1)["ContentLength"] == 4


def test_conditional_reads_follow_s3_precedence(alice_s3, bucket):
    # API_GetObject, "If-Match" ... "If-Unmodified-Since": 412 and 304, and which condition wins.
    etag = alice_s3.put_object(Bucket=bucket, Key="doc", Body=b"v1")["ETag"]
    modified = alice_s3.head_object(Bucket=bucket, Key="doc")["LastModified"]
    before, after = modified - dt.timedelta(hours=1), modified + dt.timedelta(seconds=1)
    assert alice_s3.get_object(Bucket=bucket, Key="doc", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="doc", IfMatch='"0000"')
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    assert error_of(caught)[2]["Condition"] == "If-Match"
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="doc", IfNoneMatch=etag)
    assert error_of(caught)[0] == 304
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="doc", IfModifiedSince=after)
    assert error_of(caught)[0] == 304
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="doc", IfUnmodifiedSince=before)
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    assert alice_s3.get_object(Bucket=bucket, Key="doc", IfModifiedSince=before)["Body"].read() == b"v1"
    # If-Match holds: If-Unmodified-Since is not looked at.
    assert alice_s3.get_object(Bucket=bucket, Key="doc", IfMatch=etag, IfUnmodifiedSince=before)["ETag"] == etag
    # If-None-Match fails: 304 though If-Modified-Since holds.
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="doc", IfNoneMatch=etag, IfModifiedSince=before)
    assert error_of(caught)[0] == 304
    # HEAD: the same answers, without a body.
    with pytest.raises(ClientError) as caught:
        alice_s3.head_object(Bucket=bucket, Key="doc", IfMatch='"0000"')
    assert error_of(caught)[0] == 412


def test_response_overrides_replace_the_stored_headers(alice_s3, bucket):
    # API_GetObject, "Overriding response header values through the request".
    alice_s3.put_object(Bucket=bucket, Key="photo", Body=b"jpeg", ContentType="image/jpeg")
    got = alice_s3.get_object(Bucket=bucket, Key="photo", ResponseContentType="application/x-download",
                              ResponseContentDisposition="attachment; filename=p.jpg", ResponseCacheControl="no-cache")
    assert (got["ContentType"], got["ContentDisposition"], got["CacheControl"]) == (
        "application/x-download", "attachment; filename=p.jpg", "no-cache")
    assert alice_s3.head_object(Bucket=bucket, Key="photo")["ContentType"] == "image/jpeg"


def test_missing_objects_and_deletes(alice_s3, charlie_s3, bucket):
    # API_HeadObject: 404 without a body; API_GetObject: NoSuchKey; API_DeleteObject: 204, even for no object.
    with pytest.raises(ClientError) as caught:
        alice_s3.head_object(Bucket=bucket, Key="nothing")
    assert error_of(caught)[:2] == (404, "404")
    with pytest.raises(ClientError) as caught:
        alice_s3.get_object(Bucket=bucket, Key="nothing")
    assert error_of(caught)[:2] == (404, "NoSuchKey")
    alice_s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    with pytest.raises(ClientError) as caught:
        charlie_s3.delete_object(Bucket=bucket, Key="gone")
    assert error_of(caught)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as caught:
        charlie_s3.head_object(Bucket=bucket, Key="gone")
    assert error_of(caught)[:2] == (403, "403")
    assert alice_s3.delete_object(Bucket=bucket, Key="gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert alice_s3.delete_object(Bucket=bucket, Key="gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert keys_in(bucket) == []


def test_delete_objects_answers_each_key(alice_s3, bucket):
    # API_DeleteObjects: Deleted per key (missing keys too), Errors per key, Quiet leaves Deleted out.
    for key in ("a", "b", "c", "d"):
        alice_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = alice_s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a"}, {"Key": "b"}, {"Key": "missing"}, {"Key": "c", "VersionId": "v123"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b", "missing"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("c", "InvalidArgument")]
    quiet = alice_s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert keys_in(bucket) == ["c"]
    with pytest.raises(ClientError) as caught:
        alice_s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
    assert error_of(caught)[:2] == (400, "MalformedXML")
    assert keys_in(bucket) == ["c"]


def test_copy_object_copies_bytes_and_metadata(alice_s3, bucket):
    # API_CopyObject: the source's bytes and, by default (COPY), its metadata and tags; REPLACE takes the request's.
    alice_s3.create_bucket(Bucket="other-things")
    put = alice_s3.put_object(Bucket=bucket, Key="dir/a b+ü.txt", Body=b"payload", ContentType="text/plain",
                              Metadata={"owner": "alice"}, Tagging="k=v")
    copied = alice_s3.copy_object(Bucket="other-things", Key="copy.txt",
                                  CopySource={"Bucket": bucket, "Key": "dir/a b+ü.txt"})
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    got = alice_s3.get_object(Bucket="other-things", Key="copy.txt")
    assert got["Body"].read() == b"payload"
    assert (got["ContentType"], got["Metadata"], got["TagCount"]) == ("text/plain", {"owner": "alice"}, 1)
    replaced = alice_s3.copy_object(Bucket=bucket, Key="dir/a b+ü.txt", CopySource=f"{bucket}/dir/a b+ü.txt?versionId=null",
                                    MetadataDirective="REPLACE", ContentType="text/markdown", Metadata={"v": "2"})
    assert replaced["CopyObjectResult"]["ETag"] == put["ETag"]
    head = alice_s3.head_object(Bucket=bucket, Key="dir/a b+ü.txt")
    assert (head["ContentType"], head["Metadata"]) == ("text/markdown", {"v": "2"})


def test_copy_object_refusals(alice_s3, charlie_s3, bucket):
    # API_CopyObject: onto itself without REPLACE, a failed x-amz-copy-source-if-*, a missing source.
    etag = alice_s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as caught:
        alice_s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    status, code, error = error_of(caught)
    assert (status, code) == (400, "InvalidRequest")
    assert error["Message"] == ("This copy request is illegal because it is trying to copy an object to itself "
                                "without changing the object's metadata, storage class, website redirect location "
                                "or encryption attributes.")
    with pytest.raises(ClientError) as caught:
        alice_s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                             CopySourceIfNoneMatch=etag)
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as caught:
        alice_s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                             CopySourceIfMatch='"nope"')
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as caught:
        alice_s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "absent"})
    assert error_of(caught)[:2] == (404, "NoSuchKey")
    charlie_s3.create_bucket(Bucket="charlies")
    with pytest.raises(ClientError) as caught:
        charlie_s3.copy_object(Bucket="charlies", Key="stolen", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(caught)[:2] == (403, "AccessDenied")
    assert keys_in(bucket) == ["src"] and keys_in("charlies") == []
    assert alice_s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceIfMatch=etag)["CopyObjectResult"]["ETag"] == etag


def test_object_tagging_limits(alice_s3, bucket):
    # API_PutObjectTagging: 10 tags at most, keys 128 characters, values 256, each key once.
    alice_s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    assert alice_s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []
    tags = [{"Key": f"k{i}", "Value": "v" * 256} for i in range(10)]
    alice_s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": tags})
    assert alice_s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == tags
    for bad, code in (([{"Key": "k", "Value": "v"}] * 2, "InvalidTag"),
                      ([{"Key": "k" * 129, "Value": "v"}], "InvalidTag"),
                      ([{"Key": "k", "Value": "v" * 257}], "InvalidTag"),
                      ([{"Key": f"k{i}", "Value": "v"} for i in range(11)], "BadRequest")):
        with pytest.raises(ClientError) as caught:
            alice_s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": bad})
        assert error_of(caught)[:2] == (400, code)
    assert alice_s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == tags
    alice_s3.delete_object_tagging(Bucket=bucket, Key="obj")
    assert alice_s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object_tagging(Bucket=bucket, Key="absent", Tagging={"TagSet": []})
    assert error_of(caught)[:2] == (404, "NoSuchKey")


def test_conditional_writes(alice_s3, bucket):
    # API_PutObject, "If-None-Match" / "If-Match" (S3 User Guide, "Conditional writes"): a refused
    # write leaves the object as it was.
    first = alice_s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfMatch='"0123"')
    assert error_of(caught)[:2] == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as caught:
        alice_s3.put_object(Bucket=bucket, Key="never", Body=b"x", IfMatch=first)
    assert error_of(caught)[:2] == (404, "NoSuchKey")
    assert alice_s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"
    assert keys_in(bucket) == ["once"]
    alice_s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfMatch=first)
    assert alice_s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"second"
