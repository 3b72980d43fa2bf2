"""The photo-thumbnail example end to end: the create wizard's blueprint "Create thumbnails of
uploaded images" (AWS's handler, Pillow in its package), a role allowing the S3 actions, the
source bucket's notification, a real JPEG uploaded, and its half-size copy in `<bucket>-resized`.

Follows the Lambda developer guide's "Tutorial: Using an Amazon S3 trigger to create thumbnail
images" (docs.aws.amazon.com/lambda/latest/dg/with-s3-tutorial.html): its policy (step 2), its
test event invoked by hand (step 7), then add-permission and the bucket's notification (step 8)
and an upload (step 9), by boto3 and then in the console's S3 page in headless Chromium.

The function's download_file asks HeadObject first (s3transfer), so the tests through the
worker need the objects part's HeadObject.
"""
from __future__ import annotations

import io
import json
import struct
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from console.models import Function, Invocation
from console.services.blueprint_packages import PILLOW, deployment_zip
from console.services.blueprints import BLUEPRINTS
from console.services.saved_events import EVENT_TEMPLATES
from console.services.wizard import blueprint_zip

from .api_helpers import LAMBDA_TRUST, client_like
from .conftest import eventually

BLUEPRINT = "s3-thumbnail-python"
JPEG_PATH = Path(__file__).parent / "data" / "HappyFace.jpg"
JPEG = JPEG_PATH.read_bytes()  # 640 x 480


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment (what a viewer reads first)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG (no SOI marker)"
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise AssertionError(f"not a JPEG marker at {at}")
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame's size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no start-of-frame marker")


def test_the_test_image_is_a_640_by_480_jpeg():
    assert jpeg_size(JPEG) == (640, 480)


def test_the_blueprint_zips_pillow_beside_the_tutorial_code():
    bp = BLUEPRINTS[BLUEPRINT]
    assert (bp.runtime, bp.handler, bp.packages) == ("python3.11", "lambda_function.lambda_handler", ("pillow",))
    code = bp.files["lambda_function.py"]
    assert "s3_client.upload_file(upload_path, '{}-resized'.format(bucket), key)" in code
    assert "key = unquote_plus(record['s3']['object']['key'])" in code
    data = blueprint_zip(bp)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    # As the tutorial's `pip install --target package` then `zip -r`: the package's tree at the root.
    assert {"lambda_function.py", "PIL/Image.py", "PIL/_imaging.cpython-311-x86_64-linux-gnu.so",
            f"pillow-{PILLOW.version}.dist-info/METADATA"} <= names
    assert any(name.startswith("pillow.libs/libjpeg") for name in names)
    assert deployment_zip(bp.files, bp.packages) == data  # the same bytes every time: stored once


def test_the_wizard_shows_what_the_blueprint_needs(alice_client):
    page = alice_client.get(reverse("function-create")).content.decode()
    assert "Create thumbnails of uploaded images" in page
    assert 'data-blueprint-needs="s3-thumbnail-python"' in page
    assert "-resized" in page and "s3:GetObject" in page and "s3:PutObject" in page
    assert "Add trigger" in page
    assert 'data-memory-size="1024"' in page and 'data-timeout="10"' in page


def test_a_package_that_cannot_be_installed_is_said_in_the_wizard(alice_client, alice_account, monkeypatch,
                                                                  tmp_path):
    # No cached tree and no index to install from (offline): the wizard says why, creates nothing.
    monkeypatch.setenv("LAMBDA_PACKAGES_DIR", str(tmp_path / "packages"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    response = alice_client.post(reverse("function-create"), {
        "method": "blueprint", "blueprint": BLUEPRINT, "function_name": "CreateThumbnail",
        "architecture": "x86_64", "memory_size": "1024", "timeout": "10"})
    assert response.status_code == 200
    assert f"Could not install pillow {PILLOW.version}" in response.content.decode()
    assert not Function.objects.filter(account=alice_account).exists()
    assert list((tmp_path / "packages").iterdir()) == []  # no half-installed tree left behind


def tutorial_policy(source: str) -> str:
    """The tutorial's AWSLambdaS3Policy (step 2) for this source bucket."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogGroup", "logs:CreateLogStream"],
         "Resource": "arn:aws:logs:*:*:*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{source}/*"},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{source}-resized/*"},
    ]})


@pytest.fixture
def thumbnails(alice_client, alice_account, alice_s3, worker):
    """The tutorial's buckets and role, and the function made from the blueprint by the wizard."""
    source = f"photos-{uuid.uuid4().hex[:8]}"
    alice_s3.create_bucket(Bucket=source)
    alice_s3.create_bucket(Bucket=f"{source}-resized")
    iam = client_like(alice_s3, "iam")
    iam.create_role(RoleName="lambda-s3-role", AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.put_role_policy(RoleName="lambda-s3-role", PolicyName="AWSLambdaS3Policy",
                        PolicyDocument=tutorial_policy(source))
    response = alice_client.post(reverse("function-create"), {
        "method": "blueprint", "blueprint": BLUEPRINT, "function_name": "CreateThumbnail",
        "architecture": "x86_64", "memory_size": "1024", "timeout": "10",
        "execution_role": "existing", "existing_role": "lambda-s3-role"})
    assert response.status_code == 302, response.content.decode()[:2000]
    function = Function.objects.get(account=alice_account, name="CreateThumbnail")
    assert function.role.endswith(":role/lambda-s3-role")
    return source, function


def durations(function: Function) -> list[tuple[float | None, float | None]]:
    """(init, duration) in ms of the function's finished invocations, oldest first."""
    rows = Invocation.objects.filter(function=function, status=Invocation.Status.SUCCEEDED).order_by("started")
    return [(row.init_duration_ms, row.duration_ms) for row in rows]


@pytest.mark.integration
def test_the_tutorial_test_event_makes_a_half_size_thumbnail(thumbnails, alice_s3, alice_lambda):
    source, function = thumbnails
    alice_s3.put_object(Bucket=source, Key="HappyFace.jpg", Body=JPEG, ContentType="image/jpeg")
    event = json.loads(json.dumps(EVENT_TEMPLATES["s3-put"]))  # the console's "S3 Put" template
    record = event["Records"][0]["s3"]
    record["bucket"].update(name=source, arn=f"arn:aws:s3:::{source}")
    record["object"]["key"] = "HappyFace.jpg"
    for _ in range(2):  # cold, then warm
        result = alice_lambda.invoke(FunctionName="CreateThumbnail", Payload=json.dumps(event).encode())
        assert "FunctionError" not in result, result["Payload"].read()
    thumbnail = alice_s3.get_object(Bucket=f"{source}-resized", Key="HappyFace.jpg")["Body"].read()
    assert jpeg_size(thumbnail) == (320, 240)
    timings = eventually(lambda: durations(function) if len(durations(function)) == 2 else None)
    print(f"\nthumbnail function: cold init {timings[0][0]} ms + {timings[0][1]} ms, warm {timings[1][1]} ms")
    assert timings[0][0] is not None and timings[1][0] is None  # one cold start, then warm


@pytest.mark.integration
def test_an_upload_to_the_bucket_makes_the_thumbnail_within_seconds(thumbnails, alice_s3, alice_lambda,
                                                                    alice_account):
    source, function = thumbnails
    # Step 8: S3 may invoke the function for this bucket of this account; then the notification.
    alice_lambda.add_permission(FunctionName="CreateThumbnail", StatementId="s3invoke",
                                Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                                SourceArn=f"arn:aws:s3:::{source}", SourceAccount=alice_account.account_id)
    alice_s3.put_bucket_notification_configuration(Bucket=source, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "lambda-trigger", "LambdaFunctionArn": function.arn,
                                          "Events": ["s3:ObjectCreated:*"]}]})
    # Step 9: an upload. The key has a space and a folder: the event carries it URL-encoded
    # ("my+photos/Happy+Face.jpg") and the handler's unquote_plus must give it back.
    key = "my photos/Happy Face.jpg"
    alice_s3.put_object(Bucket=source, Key=key, Body=JPEG, ContentType="image/jpeg")

    def thumbnail() -> bytes:
        return alice_s3.get_object(Bucket=f"{source}-resized", Key=key)["Body"].read()

    assert jpeg_size(eventually(thumbnail, timeout=20, interval=0.2)) == (320, 240)
    invocation = Invocation.objects.get(function=function)
    assert invocation.invocation_type == Invocation.Type.EVENT
    # A second photo runs in the now warm environment.
    alice_s3.put_object(Bucket=source, Key="second.jpg", Body=JPEG, ContentType="image/jpeg")
    eventually(lambda: alice_s3.get_object(Bucket=f"{source}-resized", Key="second.jpg"), timeout=20, interval=0.2)
    timings = eventually(lambda: durations(function) if len(durations(function)) == 2 else None)
    print(f"\nthumbnail by S3 trigger: cold init {timings[0][0]} ms + {timings[0][1]} ms, warm {timings[1][1]} ms")


@pytest.mark.browser
@pytest.mark.integration
def test_an_image_uploaded_in_the_console_gets_its_thumbnail(thumbnails, alice_page, alice_s3, alice_lambda,
                                                             alice_account):
    """As a person meets it, in headless Chromium: the JPEG uploaded on the console's S3 page, its
    thumbnail in the -resized bucket's listing, the invocation in the live log viewer left open."""
    source, function = thumbnails
    alice_lambda.add_permission(FunctionName="CreateThumbnail", StatementId="s3invoke",
                                Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                                SourceArn=f"arn:aws:s3:::{source}", SourceAccount=alice_account.account_id)
    alice_s3.put_bucket_notification_configuration(Bucket=source, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "lambda-trigger", "LambdaFunctionArn": function.arn,
                                          "Events": ["s3:ObjectCreated:*"]}]})
    page = alice_page
    viewer = page.context.new_page()
    viewer.goto("/functions/CreateThumbnail/logs")
    expect(viewer.locator("#live-tail")).to_have_attribute("data-connected", "true")

    page.goto(f"/s3/buckets/{source}")
    page.locator("#upload-input").set_input_files(JPEG_PATH)
    expect(page.locator("#upload-summary")).to_contain_text("1 succeeded", timeout=30000)
    expect(page.locator('#objects-table tr[data-key="HappyFace.jpg"]')).to_be_visible()

    # The thumbnail shows in the other bucket's listing within seconds (a user refreshes).
    page.goto(f"/s3/buckets/{source}-resized")
    row = page.locator('#objects-table tr[data-key="HappyFace.jpg"]')
    deadline = time.monotonic() + 20
    while not row.count() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        page.reload()
    expect(row).to_be_visible()
    thumbnail = alice_s3.get_object(Bucket=f"{source}-resized", Key="HappyFace.jpg")["Body"].read()
    assert jpeg_size(thumbnail) == (320, 240)

    # The viewer got the invocation's lines as they were written.
    live = viewer.locator("#live-log")
    expect(live).to_contain_text("START RequestId", timeout=10000)
    expect(live).to_contain_text("REPORT RequestId", timeout=10000)
    expect(live).to_contain_text("Init Duration")
    viewer.close()
