"""The S3 console in real headless Chromium, against Daphne: a bucket created (a bad name refused
beside the field), a file dropped on the object list (a drop event carrying a DataTransfer built in
the page) and an image chosen with the Upload button, each bar reaching 100% and the objects
listed; the image's and the text's previews, a download, a folder created and entered, and deletes.
Screenshots of each page go to var/shots/ to be looked at."""
from __future__ import annotations

import struct
import zlib

import pytest
from playwright.sync_api import expect

from console.s3 import storage
from console.s3.models import Bucket, S3Object

from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHOTS = ROOT / "var" / "shots"
DROPPED = 3 * 1024 * 1024  # large enough for several progress events


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"s3-{name}.png"), full_page=True)


def png(width: int, height: int) -> bytes:
    """A gradient, as a PNG file (no imaging library needed)."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 180))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def drop_files(page, files: dict[str, str]) -> None:
    """Drop files (name -> text, padded to DROPPED bytes) on the object list, as a user's drag and drop."""
    page.evaluate("""([files, size]) => {
        const dt = new DataTransfer();
        for (const [name, text] of Object.entries(files)) {
            const body = new Uint8Array(size);
            body.set(new TextEncoder().encode(text));
            body.fill(46, text.length);  // "." after the text
            dt.items.add(new File([body], name, {type: "text/plain"}));
        }
        const zone = document.getElementById("drop-zone");
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
        }
    }""", [files, DROPPED])


def upload_row(page, key: str):
    return page.locator(f'#upload-table tr[data-key="{key}"]')


def test_buckets_objects_folders_previews_and_deletes(alice_page, alice_account):
    page = alice_page
    page.locator(".topbar").get_by_role("link", name="S3").click()
    expect(page.locator("#buckets-panel h2")).to_contain_text("General purpose buckets (0)")
    page.get_by_role("link", name="Create bucket").first.click()
    page.get_by_label("Bucket name").fill("E2E_Photos")
    page.get_by_role("button", name="Create bucket").click()
    expect(page.locator(".field.has-error .errorlist")).to_contain_text("Bucket name must not contain uppercase characters.")
    shot(page, "create-bucket-error")
    page.get_by_label("Bucket name").fill("e2e-photos")
    page.get_by_role("button", name="Create bucket").click()
    expect(page.locator(".flash.success")).to_have_text('Successfully created bucket "e2e-photos".')
    expect(page.locator("#no-objects")).to_be_visible()
    bucket = Bucket.objects.get(name="e2e-photos", account=alice_account)

    page.get_by_role("link", name="Buckets").click()
    expect(page.locator("#buckets-table")).to_contain_text("e2e-photos")
    shot(page, "buckets")
    page.get_by_role("link", name="e2e-photos").click()

    # Drag and drop, on a slowed upload link: the bar moves with the XHR's progress events and
    # reaches 100%, then the list is redrawn with the object.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 1024 * 1024})
    drop_files(page, {"notes.txt": "<b>dropped</b> notes\n"})
    row = upload_row(page, "notes.txt")
    page.wait_for_function("""() => { const bar = document.querySelector('#upload-table tr[data-key="notes.txt"] .progress');
        const value = bar && Number(bar.getAttribute('aria-valuenow')); return value > 5 && value < 95; }""")
    shot(page, "uploading")
    expect(row.locator(".pct")).to_have_text("100%")
    expect(row.locator(".state")).to_have_text("Succeeded")
    expect(row.locator(".progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator('#objects-table tr[data-key="notes.txt"]')).to_be_visible()
    # The Upload button: a file chooser.
    image = png(480, 300)
    page.set_input_files("#upload-input", files=[{"name": "sunset.png", "mimeType": "image/png", "buffer": image}])
    expect(upload_row(page, "sunset.png").locator(".state")).to_have_text("Succeeded")
    expect(upload_row(page, "sunset.png").locator(".pct")).to_have_text("100%")
    expect(page.locator("#objects-count")).to_have_text("(2)")
    expect(page.locator("#upload-summary")).to_have_text("(2 succeeded, 0 failed)")
    shot(page, "bucket-uploaded")
    stored = S3Object.objects.get(bucket=bucket, key="sunset.png")
    assert stored.content_type == "image/png" and b"".join(storage.iter_blob(stored.blob)) == image
    assert S3Object.objects.get(bucket=bucket, key="notes.txt").size == DROPPED

    # The image's page: details and an <img> preview that loaded; a download of the same bytes.
    page.locator("#objects-table").get_by_role("link", name="sunset.png").click()
    expect(page.locator("h1")).to_have_text("sunset.png")
    expect(page.locator("#object-uri")).to_have_text("s3://e2e-photos/sunset.png")
    expect(page.locator("#object-etag")).to_have_text(stored.etag)
    preview = page.locator("#preview-image")
    expect(preview).to_be_visible()
    page.wait_for_function("() => document.getElementById('preview-image').naturalWidth === 480")
    shot(page, "object-image")
    with page.expect_download() as caught:
        page.locator("#download-link").click()
    download = caught.value
    assert download.suggested_filename == "sunset.png"
    assert open(download.path(), "rb").read() == image

    # The text's page: its first 64 KB, escaped (the <b> shows as text).
    page.get_by_role("link", name="e2e-photos").click()
    page.locator("#objects-table").get_by_role("link", name="notes.txt").click()
    expect(page.locator("#preview-text")).to_contain_text("<b>dropped</b> notes")
    expect(page.locator("#preview-text b")).to_have_count(0)
    expect(page.locator("#object-preview")).to_contain_text("The first 64.0 KB of 3.0 MB")
    shot(page, "object-text")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})

    # A folder, entered, with a file uploaded into it.
    page.get_by_role("link", name="e2e-photos").click()
    page.get_by_role("link", name="Create folder").click()
    page.get_by_label("Folder name").fill("albums")
    shot(page, "create-folder")
    page.get_by_role("button", name="Create folder").click()
    expect(page.locator(".flash.success")).to_have_text('Successfully created folder "albums".')
    expect(page.locator("#objects-table tbody tr").first).to_have_attribute("data-key", "albums/")
    shot(page, "bucket-objects")
    page.locator("#objects-table").get_by_role("link", name="albums/").click()
    expect(page.locator("h1")).to_have_text("albums/")
    expect(page.locator(".breadcrumbs")).to_contain_text("e2e-photos")
    page.set_input_files("#upload-input", files=[{"name": "inner.txt", "mimeType": "text/plain", "buffer": b"in"}])
    expect(upload_row(page, "albums/inner.txt").locator(".state")).to_have_text("Succeeded")
    expect(page.locator('#objects-table tr[data-key="albums/inner.txt"]')).to_be_visible()
    shot(page, "folder")

    # Delete the file in the folder, then everything at the root (the folder with its content).
    page.locator('#objects-table tr[data-key="albums/inner.txt"] input[type=checkbox]').check()
    page.locator("#delete-selected").click()
    expect(page.locator("#delete-list")).to_have_text("inner.txt")
    expect(page.locator("#delete-submit")).to_be_disabled()
    page.locator("#delete-confirm").fill("permanently delete")
    shot(page, "delete-dialog")
    page.locator("#delete-submit").click()
    expect(page.locator(".flash.success")).to_have_text("Successfully deleted 1 object.")
    expect(page.locator("#no-objects")).to_be_visible()
    page.get_by_role("link", name="e2e-photos").click()
    page.locator("#select-all").check()
    page.locator("#delete-selected").click()
    page.locator("#delete-confirm").fill("permanently delete")
    page.locator("#delete-submit").click()
    expect(page.locator(".flash.success")).to_have_text("Successfully deleted 3 objects.")
    assert not S3Object.objects.filter(bucket=bucket).exists()

    page.get_by_role("link", name="Properties").click()
    expect(page.locator("#event-notifications")).to_contain_text("No event notifications")
    shot(page, "properties")
    page.get_by_role("link", name="Delete bucket").click()
    page.get_by_label("Bucket name").fill("e2e-photos")
    page.get_by_role("button", name="Delete bucket").click()
    expect(page.locator(".flash.success")).to_have_text('Successfully deleted bucket "e2e-photos".')
    expect(page.locator("#buckets-panel h2")).to_contain_text("General purpose buckets (0)")
    assert not Bucket.objects.exists()
