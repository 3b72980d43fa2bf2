"""S3's console pages through Django's test client: buckets (AWS's naming rules and its errors
inline, a non-empty bucket refused with S3's message), the object browser (folders by prefix and
delimiter, breadcrumbs, pages both ways), folders, uploads (session + CSRF, streamed through the
same rules as PutObject, notifying), downloads, deletes, an object's page and preview, the
bucket's event notifications, and ownership (another account's bucket is a 404 everywhere).

Layout and wording follow the S3 console's ("Creating a general purpose bucket", "Organizing
objects in the Amazon S3 console by using folders", "Uploading objects", "Deleting a bucket").
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.urls import reverse

from console.s3 import storage
from console.s3.models import Bucket, S3Object
from console.s3.services import events
from console.s3.services.browse import level_list
from console.s3.services.buckets import bucket_create
from console.s3.services.objects import object_store
from console.s3.views import objects as object_views

from .conftest import PASSWORDS, python_function

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f9e1d50000000049454e44ae426082")


@pytest.fixture
def changes(monkeypatch) -> list[events.Change]:
    """The changes handed to the notifications (what the bucket's configuration would turn into events)."""
    seen: list[events.Change] = []
    monkeypatch.setattr(events, "object_changed", lambda bucket, change: seen.append(change))
    return seen


@pytest.fixture
def bucket(alice_account) -> Bucket:
    return bucket_create(alice_account, "photos", "us-east-1")


def put(bucket: Bucket, key: str, data: bytes = b"hello", content_type: str = "text/plain", **attrs) -> S3Object:
    with storage.BlobWriter() as writer:
        writer.write(data)
        return object_store(bucket, key, writer, {"content_type": content_type, **attrs},
                            events.Change("ObjectCreated:Put", key, len(data), writer.etag))


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def listed(response) -> list[str]:
    return re.findall(r'<tr data-key="([^"]*)"', response.content.decode())


def upload(client: Client, key: str, data: bytes, bucket: str = "photos", **extra):
    """PUT through the upload view. It is async: the test client runs it with async_to_sync, which
    refuses a thread with a running event loop (Playwright's, once a browser test ran), so in a
    thread of its own. It works on the API's thread pool, whose database connections only see
    committed rows: its tests use `transactional_db`."""
    return in_thread(client.generic, "PUT", reverse("s3-upload", args=[bucket]) + "?key=" + key, data, **extra)


def in_thread(call, *args, **kwargs):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args, **kwargs).result()


def csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("s3-bucket-create")).content.decode()  # the token is in the session (CSRF_USE_SESSIONS)
    return client, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


# --- Buckets ---------------------------------------------------------------------------------

def test_pages_need_login(client, bucket):
    for url in (reverse("s3-buckets"), reverse("s3-bucket", args=["photos"]), reverse("s3-bucket-create")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login"), url
    anonymous = upload(client, "a", b"x")
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "AccessDenied"  # JSON for the page's XHR
    assert not S3Object.objects.exists()


def test_top_bar_links_s3_beside_roles(alice_client):
    page = alice_client.get(reverse("functions")).content.decode()
    assert re.search(r'href="/iam/roles">Roles</a>\s*<a href="/s3/buckets">S3</a>', page)


def test_bucket_list_shows_only_the_accounts_buckets(alice_client, charlie_client, bucket, charlie_account):
    bucket_create(charlie_account, "charlies-stuff", "us-east-1")
    page = text_of(alice_client.get(reverse("s3-buckets")))
    assert "General purpose buckets (1)" in page and "photos" in page and "us-east-1" in page
    assert "charlies-stuff" not in page
    assert "photos" not in text_of(charlie_client.get(reverse("s3-buckets")))


def test_create_bucket_opens_it(alice_client, alice_account):
    response = alice_client.post(reverse("s3-bucket-create"), {"name": "my-new.bucket1"})
    assert response.status_code == 302 and response["Location"] == "/s3/buckets/my-new.bucket1"
    bucket = Bucket.objects.get(name="my-new.bucket1")
    assert bucket.account == alice_account and bucket.region == "us-east-1"
    assert 'Successfully created bucket "my-new.bucket1".' in text_of(alice_client.get(response["Location"]))


@pytest.mark.parametrize("name, message", [
    # S3 User Guide, "General purpose bucket naming rules"
    ("ab", "Bucket name must be at least 3 and no more than 63 characters long."),
    ("a" * 64, "Bucket name must be at least 3 and no more than 63 characters long."),
    ("My-Bucket", "Bucket name must not contain uppercase characters."),
    ("my_bucket", "Bucket name can contain only lowercase letters, numbers, periods (.), and hyphens (-)."),
    ("-bucket", "Bucket name must start and end with a letter or number."),
    ("my..bucket", "Bucket name must not contain two adjacent periods."),
    ("192.168.5.4", "Bucket name must not be formatted as an IP address"),
    ("xn--bucket", 'Bucket name must not start with the prefix "xn--".'),
    ("bucket-s3alias", 'Bucket name must not end with the suffix "-s3alias".'),
])
def test_create_bucket_shows_the_broken_naming_rule_beside_the_name(alice_client, name, message):
    response = alice_client.post(reverse("s3-bucket-create"), {"name": name})
    assert response.status_code == 400
    field = re.search(r'<div class="field has-error">.*?</div>\s*</div>', response.content.decode(), re.S)
    assert field and message in html.unescape(field.group(0))
    assert not Bucket.objects.exists()


def test_create_bucket_refuses_a_taken_name(alice_client, bucket, charlie_client):
    mine = text_of(alice_client.post(reverse("s3-bucket-create"), {"name": "photos"}))
    assert "You already own a bucket with this name." in mine
    theirs = charlie_client.post(reverse("s3-bucket-create"), {"name": "photos"})
    assert theirs.status_code == 400
    assert "A bucket with the same name already exists." in text_of(theirs)
    assert Bucket.objects.get(name="photos").account == bucket.account


def test_delete_bucket_refuses_a_bucket_with_objects(alice_client, bucket):
    put(bucket, "a.txt")
    page = text_of(alice_client.get(reverse("s3-bucket-delete", args=["photos"])))
    assert "This bucket is not empty." in page
    response = alice_client.post(reverse("s3-bucket-delete", args=["photos"]), {"confirm": "photos"})
    assert response.status_code == 400
    assert "The bucket you tried to delete is not empty" in text_of(response)  # S3's BucketNotEmpty
    assert Bucket.objects.filter(name="photos").exists()


def test_delete_bucket_needs_its_name_typed(alice_client, bucket):
    response = alice_client.post(reverse("s3-bucket-delete", args=["photos"]), {"confirm": "photo"})
    assert response.status_code == 400 and "enter the name of the bucket" in text_of(response)
    response = alice_client.post(reverse("s3-bucket-delete", args=["photos"]), {"confirm": "photos"})
    assert response.status_code == 302 and response["Location"] == "/s3/buckets"
    assert not Bucket.objects.exists()


# --- The object browser ----------------------------------------------------------------------

def test_browser_lists_folders_then_objects_of_one_level(alice_client, bucket):
    for key in ("b.txt", "a.txt", "docs/", "docs/x.txt", "docs/deep/y.txt", "img/cat.png", "docs0"):
        put(bucket, key)
    root = alice_client.get(reverse("s3-bucket", args=["photos"]))
    assert listed(root) == ["docs/", "img/", "a.txt", "b.txt", "docs0"]  # folders first, then S3's key order
    assert "Objects (5)" in text_of(root)
    docs = alice_client.get(reverse("s3-bucket", args=["photos"]), {"prefix": "docs/"})
    assert listed(docs) == ["docs/deep/", "docs/x.txt"]  # the folder's own marker is not listed
    crumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', docs.content.decode(), re.S).group(1)
    assert re.sub(r"<[^>]+>|\s", "", crumbs).replace("&rsaquo;", ">") == "AmazonS3>Buckets>photos>docs/"
    deep = alice_client.get(reverse("s3-bucket", args=["photos"]), {"prefix": "docs/deep/"})
    assert listed(deep) == ["docs/deep/y.txt"]
    assert 'href="/s3/buckets/photos?prefix=docs%2F">docs/</a>' in deep.content.decode()
    found = alice_client.get(reverse("s3-bucket", args=["photos"]), {"prefix": "docs/", "search": "de"})
    assert listed(found) == ["docs/deep/"]


def test_browser_pages_forward_and_back(alice_client, bucket, monkeypatch):
    monkeypatch.setattr(object_views, "PAGE_SIZE", 2)
    for key in ("a", "b/1", "b/2", "c", "d/1", "e"):
        put(bucket, key)
    url = reverse("s3-bucket", args=["photos"])
    first = alice_client.get(url)
    assert listed(first) == ["b/", "a"]
    assert 'rel="prev"' not in first.content.decode()
    pages, response = [listed(first)], first
    while (match := re.search(r'href="([^"]+)" rel="next"', response.content.decode())):
        response = alice_client.get(match.group(1).replace("&amp;", "&"))
        pages.append(listed(response))
    assert pages == [["b/", "a"], ["d/", "c"], ["e"]]  # pages in key order, folders first on each
    back = re.search(r'href="([^"]+)" rel="prev"', response.content.decode()).group(1).replace("&amp;", "&")
    assert listed(alice_client.get(back)) == ["d/", "c"]
    assert level_list(bucket, "", after="not base64!", page_size=2).entries[0].key == "a"  # a bad token: page 1


def test_create_folder_puts_an_empty_key_ending_in_a_slash(alice_client, bucket, changes):
    response = alice_client.post(reverse("s3-folder-create", args=["photos"]) + "?prefix=docs/", {"name": "drafts"})
    assert response.status_code == 302 and response["Location"] == "/s3/buckets/photos?prefix=docs%2F"
    folder = S3Object.objects.get(bucket=bucket, key="docs/drafts/")
    assert folder.size == 0 and folder.etag == hashlib.md5(b"").hexdigest()
    assert [(c.event_name, c.key, c.size) for c in changes] == [("ObjectCreated:Put", "docs/drafts/", 0)]
    assert listed(alice_client.get(response["Location"])) == ["docs/drafts/"]


def test_create_folder_refuses_a_slash_and_an_existing_folder(alice_client, bucket):
    url = reverse("s3-folder-create", args=["photos"])
    response = alice_client.post(url, {"name": "a/b"})
    assert response.status_code == 400 and 'Folder names can\'t contain "/".' in text_of(response)
    alice_client.post(url, {"name": "a"})
    again = alice_client.post(url, {"name": "a"})
    assert again.status_code == 400 and "A folder with this name already exists." in text_of(again)
    assert list(S3Object.objects.values_list("key", flat=True)) == ["a/"]


# --- Uploads, downloads, deletes ----------------------------------------------------------------

def test_upload_streams_the_body_into_an_object_and_notifies(transactional_db, alice, bucket, changes):
    client, token = csrf_client(alice)
    data = bytes(range(256)) * 4096  # 1 MB
    response = upload(client, "docs/a%20b%2Bc.bin", data, content_type="application/x-thing", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    etag = hashlib.md5(data).hexdigest()
    assert response.json() == {"key": "docs/a b+c.bin", "size": len(data), "etag": f'"{etag}"'}
    obj = S3Object.objects.get(bucket=bucket, key="docs/a b+c.bin")
    assert (obj.size, obj.etag, obj.content_type) == (len(data), etag, "application/x-thing")
    assert b"".join(storage.iter_blob(obj.blob)) == data
    # As PutObject does: one ObjectCreated:Put for the key, with its size and ETag, by alice's account.
    [change] = changes
    assert (change.event_name, change.key, change.size, change.etag) == ("ObjectCreated:Put", "docs/a b+c.bin",
                                                                         len(data), etag)
    assert change.principal is None  # the console: the event names the bucket's owner


def test_an_upload_queues_the_buckets_notification_as_putobject_does(transactional_db, alice, alice_account,
                                                                     monkeypatch):
    from console.models import Invocation
    from console.s3.services.notifications import notification_put
    from console.services.permissions import permission_add
    from executor import invoke as invoke_module

    sent = []
    monkeypatch.setattr(invoke_module.queues, "send_event", sent.append)  # no worker here: the message is kept
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return e\n", name="on-upload")
    bucket = bucket_create(alice_account, "inbox", "us-east-1")
    permission_add(fn, None, statement_id="s3", action="lambda:InvokeFunction", principal="s3.amazonaws.com",
                   source_arn=bucket.arn, source_account=alice_account.account_id)
    notification_put(bucket, [{"LambdaFunctionArn": fn.arn, "Events": ["s3:ObjectCreated:*"]}])
    client, token = csrf_client(alice)
    assert upload(client, "in/red%20flower.jpg", b"jpeg", bucket="inbox", HTTP_X_CSRFTOKEN=token).status_code == 200
    row = Invocation.objects.get(function=fn)
    [record] = json.loads(row.payload)["Records"]
    assert row.source == "s3" and len(sent) == 1
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["bucket"]["name"] == "inbox"
    assert record["s3"]["object"]["key"] == "in/red+flower.jpg" and record["s3"]["object"]["size"] == 4


def test_upload_guesses_the_type_from_the_name_when_the_browser_gives_none(transactional_db, alice, bucket):
    client, token = csrf_client(alice)
    upload(client, "cat.png", PNG, content_type="", HTTP_X_CSRFTOKEN=token)
    assert S3Object.objects.get(key="cat.png").content_type == "image/png"


def test_upload_refusals_store_nothing(transactional_db, alice, bucket, settings, changes):
    client, token = csrf_client(alice)
    assert upload(client, "a", b"x").status_code == 403  # no CSRF header
    assert in_thread(client.get, reverse("s3-upload", args=["photos"]) + "?key=a").status_code == 405
    long_key = upload(client, "k" * 1025, b"x", HTTP_X_CSRFTOKEN=token)
    assert long_key.status_code == 400 and long_key.json()["code"] == "KeyTooLongError"
    settings.LAMBDA_S3_MAX_OBJECT_SIZE = 10
    too_big = upload(client, "big", b"x" * 11, HTTP_X_CSRFTOKEN=token)
    assert too_big.status_code == 400 and too_big.json() == {
        "code": "EntityTooLarge", "message": "Your proposed upload exceeds the maximum allowed size"}
    assert not S3Object.objects.exists() and not changes


# Daphne serves the download's async iterator as it comes; Django's sync test client gathers it (and says so).
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_download_is_an_attachment(alice_client, bucket):
    data = b"col1,col2\n" * 50000
    put(bucket, "reports/q1 2026.csv", data, "text/csv")
    response = alice_client.get(reverse("s3-object-download", args=["photos"]), {"prefix": "reports/q1 2026.csv"})
    assert response.status_code == 200 and response.streaming
    assert b"".join(response) == data
    assert response["Content-Disposition"] == 'attachment; filename="q1 2026.csv"'
    assert response["Content-Length"] == str(len(data)) and response["Content-Type"] == "text/csv"
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    missing = alice_client.get(reverse("s3-object-download", args=["photos"]), {"prefix": "nope"})
    assert missing.status_code == 404


def test_delete_selected_objects_and_folders(alice_client, bucket, changes):
    for key in ("a.txt", "b.txt", "docs/", "docs/x.txt", "docs/y/z.txt", "docsa.txt"):
        put(bucket, key)
    changes.clear()
    url = reverse("s3-objects-delete", args=["photos"])
    refused = alice_client.post(url, {"key": ["a.txt"], "confirm": "delete"})
    assert refused.status_code == 302 and S3Object.objects.filter(key="a.txt").exists()
    assert "type permanently delete" in text_of(alice_client.get(refused["Location"]))
    response = alice_client.post(url, {"key": ["a.txt", "docs/"], "confirm": "permanently delete", "prefix": ""})
    assert response.status_code == 302
    assert sorted(S3Object.objects.values_list("key", flat=True)) == ["b.txt", "docsa.txt"]
    assert sorted((c.event_name, c.key) for c in changes) == [
        ("ObjectRemoved:Delete", k) for k in ("a.txt", "docs/", "docs/x.txt", "docs/y/z.txt")]
    assert "Successfully deleted 4 objects." in text_of(alice_client.get(response["Location"]))


# --- An object's page ------------------------------------------------------------------------

def test_object_page_shows_its_details_and_metadata(alice_client, bucket):
    obj = put(bucket, "docs/notes.txt", b"x" * 2000, "text/plain", metadata={"owner": "alice"},
              cache_control="no-cache")
    page = text_of(alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "docs/notes.txt"}))
    for expected in ("Object overview", "2.0 KB (2000 bytes)", "docs/notes.txt", "s3://photos/docs/notes.txt",
                     "arn:aws:s3:::photos/docs/notes.txt", obj.etag, "111111111111", "Content-Type text/plain",
                     "Cache-Control no-cache", "User defined x-amz-meta-owner alice", "Metadata (3)"):
        assert expected in page, expected
    assert alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "docs/"}).status_code == 404


def test_text_preview_is_escaped_and_cut_at_64_kb(alice_client, bucket):
    put(bucket, "page.html", b"<script>alert(1)</script>" + b"a" * 70000, "text/html")
    page = alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "page.html"}).content.decode()
    preview = re.search(r'<pre class="text-preview" id="preview-text">(.*?)</pre>', page, re.S).group(1)
    assert preview.startswith("&lt;script&gt;alert(1)&lt;/script&gt;aaa") and "<script>" not in page.split("<main")[1]
    assert len(preview) == len("&lt;script&gt;alert(1)&lt;/script&gt;") + 64 * 1024 - len("<script>alert(1)</script>")
    assert "The first 64.0 KB of" in text_of(alice_client.get(reverse("s3-object", args=["photos"]),
                                                               {"prefix": "page.html"}))


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_image_preview_is_served_inline_only_for_raster_images(alice_client, bucket):
    put(bucket, "cat.png", PNG, "image/png")
    put(bucket, "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        "image/svg+xml")
    put(bucket, "blob.bin", b"\x00\x01\x02", "application/octet-stream")
    page = alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "cat.png"}).content.decode()
    assert '<img src="/s3/object/photos/preview?prefix=cat.png"' in page
    image = alice_client.get(reverse("s3-object-preview", args=["photos"]), {"prefix": "cat.png"})
    assert image.status_code == 200 and b"".join(image) == PNG and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff" and "sandbox" in image["Content-Security-Policy"]
    # SVG can carry scripts: never served inline; its source is previewed as (escaped) text instead.
    assert alice_client.get(reverse("s3-object-preview", args=["photos"]), {"prefix": "logo.svg"}).status_code == 404
    svg = alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "logo.svg"}).content.decode()
    assert "<img" not in svg and "&lt;svg xmlns=" in svg
    assert "No preview" in text_of(alice_client.get(reverse("s3-object", args=["photos"]), {"prefix": "blob.bin"}))


# --- Properties: event notifications -----------------------------------------------------------

def test_properties_show_the_event_notifications(alice_client, bucket, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="make-thumbnail")
    bucket.notification_configuration = {"LambdaFunctionConfigurations": [
        {"Id": "thumbs", "LambdaFunctionArn": fn.arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"},
                                            {"Name": "suffix", "Value": ".jpg"}]}}},
        {"Id": "gone", "LambdaFunctionArn": "arn:aws:lambda:us-east-1:222222222222:function:theirs",
         "Events": ["s3:ObjectRemoved:Delete"]}]}
    bucket.save()
    response = alice_client.get(reverse("s3-bucket", args=["photos"]), {"tab": "properties"})
    page = text_of(response)
    assert "Event notifications (2)" in page
    assert "thumbs All object create events Prefix: uploads/ Suffix: .jpg Lambda function make-thumbnail" in page
    assert f'<a href="{reverse("function", args=["make-thumbnail"])}">make-thumbnail</a>' in response.content.decode()
    assert "gone Permanently deleted - Lambda function arn:aws:lambda:us-east-1:222222222222:function:theirs" in page
    assert "arn:aws:s3:::photos" in page


# --- Ownership ---------------------------------------------------------------------------------

def test_outsider_gets_404_and_changes_nothing(transactional_db, alice, charlie, bucket, changes):
    put(bucket, "a.txt")
    changes.clear()
    client, token = csrf_client(charlie)
    q = "?prefix=a.txt"
    for url in (reverse("s3-bucket", args=["photos"]), reverse("s3-bucket", args=["photos"]) + "?tab=properties",
                reverse("s3-bucket-delete", args=["photos"]), reverse("s3-folder-create", args=["photos"]),
                reverse("s3-object", args=["photos"]) + q, reverse("s3-object-download", args=["photos"]) + q,
                reverse("s3-object-preview", args=["photos"]) + q):
        assert client.get(url).status_code == 404, url
    for url, data in ((reverse("s3-bucket-delete", args=["photos"]), {"confirm": "photos"}),
                      (reverse("s3-folder-create", args=["photos"]), {"name": "x"}),
                      (reverse("s3-objects-delete", args=["photos"]), {"key": "a.txt", "confirm": "permanently delete"})):
        assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 404, url
    assert upload(client, "b", b"x", HTTP_X_CSRFTOKEN=token).status_code == 404
    assert list(S3Object.objects.values_list("key", flat=True)) == ["a.txt"] and not changes
    assert Bucket.objects.filter(name="photos").exists()
