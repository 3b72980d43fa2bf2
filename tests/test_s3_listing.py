"""Listing a bucket through boto3 (ListObjectsV2, ListObjects) and the walk behind it.

Shapes and rules: S3 API reference, API_ListObjectsV2.html and API_ListObjects.html.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console.s3.models import Bucket, S3Object
from console.s3.services.listing import list_page, successor

KEYS = ["a.txt", "docs/2024/jan.pdf", "docs/2024/feb.pdf", "docs/readme.md", "docs/2025/mar.pdf",
        "photos/cat.jpg", "photos/dog.jpg", "zeta"]


@pytest.fixture
def listed(alice_s3) -> str:
    alice_s3.create_bucket(Bucket="listed")
    for key in KEYS:
        alice_s3.put_object(Bucket="listed", Key=key, Body=key.encode())
    return "listed"


def v2_everything(client, **params) -> tuple[list[str], list[str], int]:
    """Every key and common prefix, page by page as a user's loop does; and how many pages."""
    keys, prefixes, pages, token = [], [], 0, None
    while True:
        page = client.list_objects_v2(Bucket="listed", **params, **({"ContinuationToken": token} if token else {}))
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] == len(page.get("Contents", [])) + len(page.get("CommonPrefixes", []))
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            return keys, prefixes, pages
        token = page["NextContinuationToken"]


@pytest.mark.integration
def test_delimiter_rolls_keys_up_into_common_prefixes(alice_s3, listed):
    # API_ListObjectsV2: Delimiter, CommonPrefixes, KeyCount; keys in UTF-8 binary order.
    top = alice_s3.list_objects_v2(Bucket=listed, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "zeta"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["docs/", "photos/"]
    assert (top["KeyCount"], top["MaxKeys"], top["IsTruncated"], top["Prefix"], top["Delimiter"]) == (
        4, 1000, False, "", "/")
    docs = alice_s3.list_objects_v2(Bucket=listed, Prefix="docs/", Delimiter="/")
    assert [o["Key"] for o in docs["Contents"]] == ["docs/readme.md"]
    assert [p["Prefix"] for p in docs["CommonPrefixes"]] == ["docs/2024/", "docs/2025/"]
    contents = alice_s3.list_objects_v2(Bucket=listed, Prefix="photos/")["Contents"]
    assert [(o["Key"], o["Size"], o["StorageClass"]) for o in contents] == [
        ("photos/cat.jpg", 14, "STANDARD"), ("photos/dog.jpg", 14, "STANDARD")]
    assert contents[0]["ETag"].startswith('"') and "Owner" not in contents[0]
    assert alice_s3.list_objects_v2(Bucket=listed, Prefix="photos/c", FetchOwner=True)["Contents"][0]["Owner"]["ID"]


@pytest.mark.integration
def test_pages_of_every_size_list_everything_once(alice_s3, listed):
    # API_ListObjectsV2: MaxKeys counts keys and prefixes together; NextContinuationToken resumes.
    assert v2_everything(alice_s3)[:2] == (sorted(KEYS), [])
    for size in (1, 2, 3):
        keys, prefixes, pages = v2_everything(alice_s3, MaxKeys=size, Delimiter="/")
        assert (keys, prefixes) == (["a.txt", "zeta"], ["docs/", "photos/"])
        assert pages == -(-4 // size)
        keys, prefixes, pages = v2_everything(alice_s3, MaxKeys=size)
        assert keys == sorted(KEYS) and pages == -(-len(KEYS) // size)
    after = alice_s3.list_objects_v2(Bucket=listed, StartAfter="docs/2025/mar.pdf", MaxKeys=2)
    assert [o["Key"] for o in after["Contents"]] == ["docs/readme.md", "photos/cat.jpg"]
    assert after["StartAfter"] == "docs/2025/mar.pdf" and after["IsTruncated"]
    empty = alice_s3.list_objects_v2(Bucket=listed, MaxKeys=0)
    assert (empty["KeyCount"], empty["IsTruncated"], "Contents" in empty) == (0, False, False)


@pytest.mark.integration
def test_list_objects_v1_markers(alice_s3, listed):
    # API_ListObjects: Marker; NextMarker only when a delimiter is given (else the last key is the marker).
    first = alice_s3.list_objects(Bucket=listed, MaxKeys=2, Delimiter="/")
    assert [o["Key"] for o in first["Contents"]] == ["a.txt"] and first["CommonPrefixes"] == [{"Prefix": "docs/"}]
    assert first["IsTruncated"] and first["NextMarker"] == "docs/"
    assert first["Contents"][0]["Owner"]["ID"]  # ListObjects always names the owner
    second = alice_s3.list_objects(Bucket=listed, MaxKeys=2, Delimiter="/", Marker=first["NextMarker"])
    assert second["CommonPrefixes"] == [{"Prefix": "photos/"}] and [o["Key"] for o in second["Contents"]] == ["zeta"]
    assert not second["IsTruncated"] and "NextMarker" not in second
    plain = alice_s3.list_objects(Bucket=listed, MaxKeys=3)
    assert plain["IsTruncated"] and "NextMarker" not in plain
    rest = alice_s3.list_objects(Bucket=listed, Marker=plain["Contents"][-1]["Key"])
    assert [o["Key"] for o in plain["Contents"] + rest["Contents"]] == sorted(KEYS)


@pytest.mark.integration
def test_url_encoding_and_binary_order(alice_s3):
    # API_ListObjectsV2, "EncodingType": keys and prefixes percent-encoded (UTF-8), "test_file(3).png" as
    # "test_file%283%29.png"; S3 lists in UTF-8 binary order (upper case before lower, é after ~).
    alice_s3.create_bucket(Bucket="odd-names")
    for key in ("a b/c(1)+é.txt", "B", "a", "~", "é", "A/x"):
        alice_s3.put_object(Bucket="odd-names", Key=key, Body=b"")
    assert [o["Key"] for o in alice_s3.list_objects_v2(Bucket="odd-names")["Contents"]] == [
        "A/x", "B", "a", "a b/c(1)+é.txt", "~", "é"]
    assert [o["Key"] for o in alice_s3.list_objects_v2(Bucket="odd-names", Prefix="a")["Contents"]] == [
        "a", "a b/c(1)+é.txt"]  # a prefix is case-sensitive
    # boto3 decodes what it asked to be encoded itself; asked explicitly, it shows S3's encoding as is.
    raw = alice_s3.list_objects_v2(Bucket="odd-names", Prefix="a b/", EncodingType="url")
    assert raw["EncodingType"] == "url" and raw["Prefix"] == "a+b/"
    assert [o["Key"] for o in raw["Contents"]] == ["a+b/c%281%29%2B%C3%A9.txt"]
    rolled = alice_s3.list_objects_v2(Bucket="odd-names", Delimiter="/", EncodingType="url")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["A/", "a+b/"]


@pytest.mark.integration
def test_bad_listing_parameters(alice_s3, charlie_s3, listed):
    # API_ListObjectsV2: an unreadable token or max-keys, an unknown encoding: InvalidArgument.
    for params in ({"ContinuationToken": "not-ours"}, {"EncodingType": "base64"}):
        with pytest.raises(ClientError) as caught:
            alice_s3.list_objects_v2(Bucket=listed, **params)
        assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as caught:
        charlie_s3.list_objects_v2(Bucket=listed)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        alice_s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_successor_bounds_every_key_under_a_prefix():
    assert successor("docs/") == "docs0"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff") is None
    assert successor("\ud7ff") == "\ue000"


@pytest.mark.django_db
def test_a_big_common_prefix_costs_queries_not_rows(alice_account):
    # The walk jumps past a common prefix in SQL: 5,000 keys under one "folder" are not read one by one.
    bucket = Bucket.objects.create(name="big", account=alice_account)
    rows = [S3Object(bucket=bucket, key=f"logs/{i:05d}", size=1, etag="x", blob="x") for i in range(5000)]
    rows += [S3Object(bucket=bucket, key=key, size=1, etag="x", blob="x") for key in ("a", "m/1", "m/2", "z")]
    S3Object.objects.bulk_create(rows)
    with CaptureQueriesContext(connection) as queries:
        page = list_page(bucket, delimiter="/")
    assert [o.key for o in page.objects] == ["a", "z"] and page.prefixes == ["logs/", "m/"]
    assert len(queries) <= 4
    page = list_page(bucket, delimiter="/", max_keys=2)
    assert page.prefixes == ["logs/"] and page.truncated and page.last == "logs/"
    rest = list_page(bucket, delimiter="/", marker=page.last)
    assert rest.prefixes == ["m/"] and [o.key for o in rest.objects] == ["z"] and not rest.truncated
    under = list_page(bucket, prefix="logs/", marker="logs/04997")
    assert [o.key for o in under.objects] == ["logs/04998", "logs/04999"]
