"""S3's first operations through boto3 against the real server: the path every S3 test builds on.

Shapes follow the S3 API reference (CreateBucket, ListBuckets, PutObject, GetObject).
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


def test_bucket_and_object_round_trip(alice_s3):
    alice_s3.create_bucket(Bucket="photos")
    names = [b["Name"] for b in alice_s3.list_buckets()["Buckets"]]
    assert names == ["photos"]
    put = alice_s3.put_object(Bucket="photos", Key="dir/a b+c.txt", Body=b"hello", ContentType="text/plain",
                              Metadata={"owner": "alice"})
    assert put["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    got = alice_s3.get_object(Bucket="photos", Key="dir/a b+c.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"owner": "alice"}
    assert got["ETag"] == put["ETag"]


def test_other_accounts_get_access_denied(alice_s3, charlie_s3):
    alice_s3.create_bucket(Bucket="private-things")
    alice_s3.put_object(Bucket="private-things", Key="k", Body=b"secret")
    with pytest.raises(ClientError) as caught:
        charlie_s3.get_object(Bucket="private-things", Key="k")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        charlie_s3.create_bucket(Bucket="private-things")
    assert caught.value.response["Error"]["Code"] == "BucketAlreadyExists"
    with pytest.raises(ClientError) as caught:
        alice_s3.create_bucket(Bucket="Bad_Name")
    assert caught.value.response["Error"]["Code"] == "InvalidBucketName"
