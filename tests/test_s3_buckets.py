"""Buckets through boto3 against the real server, and the rules behind PutObject's limits.

Each test names the S3 API reference page it follows (docs.aws.amazon.com/AmazonS3/latest/API/API_<Op>.html).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from console.s3 import storage
from console.s3.models import Bucket, MultipartUpload, S3Object, UploadPart
from console.s3.services import events
from console.s3.services.objects import object_open, object_store


def error_of(caught) -> tuple[int, str, dict]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]


@pytest.mark.integration
def test_head_bucket_and_location(alice_s3, charlie_s3):
    # API_HeadBucket: 200 with x-amz-bucket-region; 404 and 403 without a body.
    # API_GetBucketLocation: us-east-1 is an empty LocationConstraint.
    alice_s3.create_bucket(Bucket="headed")
    head = alice_s3.head_bucket(Bucket="headed")
    assert head["BucketRegion"] == "us-east-1"
    with pytest.raises(ClientError) as caught:
        alice_s3.head_bucket(Bucket="never-made")
    assert error_of(caught)[:2] == (404, "404")
    with pytest.raises(ClientError) as caught:
        charlie_s3.head_bucket(Bucket="headed")
    assert error_of(caught)[:2] == (403, "403")
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert alice_s3.get_bucket_location(Bucket="headed")["LocationConstraint"] is None
    # API_GetBucketVersioning: a bucket never versioned has no Status.
    assert "Status" not in alice_s3.get_bucket_versioning(Bucket="headed")
    listed = alice_s3.list_buckets()
    assert [(b["Name"], b["BucketRegion"]) for b in listed["Buckets"]] == [("headed", "us-east-1")]
    assert listed["Owner"]["ID"]


@pytest.mark.integration
def test_location_constraints_at_a_us_east_1_endpoint(alice_s3):
    # API_CreateBucket, "LocationConstraint": us-east-1 takes none; another region is not this endpoint's.
    with pytest.raises(ClientError) as caught:
        alice_s3.create_bucket(Bucket="named-east", CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert error_of(caught)[:2] == (400, "InvalidLocationConstraint")
    with pytest.raises(ClientError) as caught:
        alice_s3.create_bucket(Bucket="in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    status, code, error = error_of(caught)
    assert (status, code) == (400, "IllegalLocationConstraintException")
    assert error["Message"] == ("The eu-west-1 location constraint is incompatible for the region specific "
                                "endpoint this request was sent to.")
    assert not Bucket.objects.filter(name__in=["named-east", "in-ireland"]).exists()


@pytest.mark.integration
def test_delete_bucket_refused_while_objects_remain(alice_s3, charlie_s3):
    # API_DeleteBucket: BucketNotEmpty (409) while it holds objects; 204 once empty; unfinished
    # multipart uploads go with the bucket, their parts' bytes too.
    alice_s3.create_bucket(Bucket="doomed")
    alice_s3.put_object(Bucket="doomed", Key="last", Body=b"x")
    with pytest.raises(ClientError) as caught:
        alice_s3.delete_bucket(Bucket="doomed")
    assert error_of(caught)[:2] == (409, "BucketNotEmpty")
    with pytest.raises(ClientError) as caught:
        charlie_s3.delete_bucket(Bucket="doomed")
    assert error_of(caught)[:2] == (403, "AccessDenied")
    alice_s3.delete_object(Bucket="doomed", Key="last")
    bucket = Bucket.objects.get(name="doomed")
    upload = MultipartUpload.objects.create(upload_id="u1", bucket=bucket, key="big")
    with storage.BlobWriter() as writer:
        writer.write(b"part one")
        blob = writer.commit()
    UploadPart.objects.create(upload=upload, number=1, size=8, etag=writer.etag, blob=blob)
    assert alice_s3.delete_bucket(Bucket="doomed")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not Bucket.objects.filter(name="doomed").exists() and not MultipartUpload.objects.exists()
    assert not storage.blob_path(blob).exists()
    with pytest.raises(ClientError) as caught:
        alice_s3.delete_bucket(Bucket="doomed")
    assert error_of(caught)[:2] == (404, "NoSuchBucket")


@pytest.mark.integration
def test_bucket_tagging(alice_s3):
    # API_PutBucketTagging / API_GetBucketTagging (NoSuchTagSet when none) / API_DeleteBucketTagging.
    alice_s3.create_bucket(Bucket="tagged")
    with pytest.raises(ClientError) as caught:
        alice_s3.get_bucket_tagging(Bucket="tagged")
    assert error_of(caught)[:2] == (404, "NoSuchTagSet")
    alice_s3.put_bucket_tagging(Bucket="tagged", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    assert alice_s3.get_bucket_tagging(Bucket="tagged")["TagSet"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as caught:
        alice_s3.put_bucket_tagging(Bucket="tagged", Tagging={"TagSet": [{"Key": "a", "Value": "1"}] * 2})
    assert error_of(caught)[:2] == (400, "InvalidTag")
    alice_s3.delete_bucket_tagging(Bucket="tagged")
    with pytest.raises(ClientError):
        alice_s3.get_bucket_tagging(Bucket="tagged")


def asgi_put(key_id: str, secret: str, path: str, body: bytes, length: bool = True):
    """A signed PutObject straight into the S3 ASGI app: (status, headers, body). Without
    `length`, no Content-Length is sent (a body streamed with Transfer-Encoding: chunked)."""
    from console.s3.wire.app import application

    request = AWSRequest(method="PUT", url=f"http://127.0.0.1:9{path}", data=body,
                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(key_id, secret), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    raw = [(b"host", b"127.0.0.1:9")] + [(k.lower().encode(), v.encode()) for k, v in prepared.headers.items()
                                    if length or k.lower() != "content-length"]
    scope = {"type": "http", "method": "PUT", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": raw, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 9)}
    chunks = [{"type": "http.request", "body": body[i:i + 4], "more_body": i + 4 < len(body)}
              for i in range(0, len(body), 4)] or [{"type": "http.request", "body": b""}]
    sent: list[dict] = []

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # In a thread of its own: a whole-suite run has Playwright's event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, application(scope, receive, send)).result()
    start = sent[0]
    return (start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent[1:]))


def test_entity_too_large_stores_nothing(transactional_db, alice_account, alice, settings):
    # API_PutObject, "Errors": EntityTooLarge past the configured limit (LAMBDA_S3_MAX_OBJECT_SIZE),
    # whether Content-Length says so up front or the body runs past it; no row, no blob left behind.
    from console.services.access_keys import access_key_create

    settings.LAMBDA_S3_MAX_OBJECT_SIZE = 10
    key, secret = access_key_create(alice)
    Bucket.objects.create(name="small", account=alice_account)
    status, _, body = asgi_put(key.access_key_id, secret, "/small/ok", b"0123456789")
    assert status == 200, body
    status, _, body = asgi_put(key.access_key_id, secret, "/small/big", b"0123456789A")
    assert (status, b"<Code>EntityTooLarge</Code>" in body) == (400, True)
    assert b"<MaxSizeAllowed>10</MaxSizeAllowed>" in body and b"<ProposedSize>11</ProposedSize>" in body
    status, _, body = asgi_put(key.access_key_id, secret, "/small/streamed", b"0123456789" * 3, length=False)
    assert (status, b"<Code>EntityTooLarge</Code>" in body) == (400, True)
    assert list(S3Object.objects.values_list("key", flat=True)) == ["ok"]
    temporary = storage._tmp_dir()
    assert not any(temporary.iterdir())


def test_a_blob_replaced_while_opening_is_read_again(transactional_db, alice_account, monkeypatch):
    # GetObject reads the row, then opens its blob; a PUT in between removes that blob: the row
    # is read again and the new object served, never a 500.
    bucket = Bucket.objects.create(name="racy", account=alice_account)

    def store(data: bytes):
        with storage.BlobWriter() as writer:
            writer.write(data)
            return object_store(bucket, "k", writer, {}, events.Change("ObjectCreated:Put", "k"))

    store(b"old")
    real_open, calls = storage.open_blob, []

    def open_after_a_put(name):
        calls.append(name)
        if len(calls) == 1:
            store(b"new")  # the old blob is removed once the new row commits
        return real_open(name)

    monkeypatch.setattr(storage, "open_blob", open_after_a_put)
    obj, handle = object_open(bucket, "k")
    with handle:
        assert handle.read() == b"new" and obj.size == 3 and len(calls) == 2


@pytest.mark.integration
def test_list_buckets_pages_and_prefix(alice_s3, charlie_s3):
    # API_ListBuckets: an account's own buckets by name; MaxBuckets pages with ContinuationToken; Prefix.
    for name in ("alpha-1", "alpha-2", "beta-1"):
        alice_s3.create_bucket(Bucket=name)
    charlie_s3.create_bucket(Bucket="charlie-1")
    first = alice_s3.list_buckets(MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == ["alpha-1", "alpha-2"] and first["ContinuationToken"]
    rest = alice_s3.list_buckets(MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["beta-1"] and "ContinuationToken" not in rest
    assert [b["Name"] for b in alice_s3.list_buckets(Prefix="alpha")["Buckets"]] == ["alpha-1", "alpha-2"]
    assert [b["Name"] for b in charlie_s3.list_buckets()["Buckets"]] == ["charlie-1"]


def test_changes_name_the_event_s3_sends(transactional_db, alice_account, monkeypatch):
    # Event message structure (S3 User Guide, "Event notification types"): a copy is
    # ObjectCreated:Copy with the copy's size and ETag; a delete ObjectRemoved:Delete, only for an object there.
    from console.s3.services.objects import object_copy, object_delete

    bucket = Bucket.objects.create(name="evented", account=alice_account)
    seen: list[events.Change] = []
    monkeypatch.setattr(events, "object_changed", lambda bucket, change: seen.append(change))
    with storage.BlobWriter() as writer:
        writer.write(b"bytes")
        object_store(bucket, "src", writer, {}, events.Change("ObjectCreated:Put", "src", 5, writer.etag))
    copy = object_copy(bucket, "src", bucket, "dst", {}, lambda source: {"content_type": source.content_type},
                       events.Change("ObjectCreated:Copy", "dst"))
    assert object_delete(bucket, "dst", events.Change("ObjectRemoved:Delete", "dst"))
    assert not object_delete(bucket, "dst", events.Change("ObjectRemoved:Delete", "dst"))
    assert [(c.event_name, c.key, c.size, c.etag) for c in seen] == [
        ("ObjectCreated:Put", "src", 5, copy.etag), ("ObjectCreated:Copy", "dst", 5, copy.etag),
        ("ObjectRemoved:Delete", "dst", None, None)]
