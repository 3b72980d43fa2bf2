"""S3 event notifications to functions, through the real stack: boto3 configures a bucket and
uploads to it, the worker runs the function with the event, the function answers it back.

Shapes follow the S3 API reference (PutBucketNotificationConfiguration,
GetBucketNotificationConfiguration), the S3 User Guide's "Event message structure" (version
2.1), "Supported event types" and "Configuring event notifications using object key name
filtering", and the messages S3 answers for refused configurations.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from console.models import Invocation

from .api_helpers import client_like
from .conftest import eventually, python_function

pytestmark = pytest.mark.integration

ECHO = "import json\ndef lambda_handler(event, context):\n    return event\n"
QUIET = 3.0  # seconds to wait before concluding that nothing was invoked


def allow_s3(lambda_client, function, bucket: str, account: str, sid: str = "s3-invoke") -> None:
    """The permission AWS asks for before S3 may invoke a function (Lambda developer guide, "Using AWS
    Lambda with Amazon S3")."""
    lambda_client.add_permission(FunctionName=function.name, StatementId=sid, Action="lambda:InvokeFunction",
                                 Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}",
                                 SourceAccount=account)


def lambda_config(function, *events: str, prefix: str = "", suffix: str = "", id: str | None = None) -> dict:
    config: dict = {"LambdaFunctionArn": function.arn, "Events": list(events or ["s3:ObjectCreated:*"])}
    if id is not None:
        config["Id"] = id
    rules = [{"Name": name, "Value": value} for name, value in (("prefix", prefix), ("suffix", suffix)) if value]
    if rules:
        config["Filter"] = {"Key": {"FilterRules": rules}}
    return config


def configure(s3, bucket: str, *configs: dict) -> None:
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": list(configs)})


def stored(s3, bucket: str) -> dict:
    answer = s3.get_bucket_notification_configuration(Bucket=bucket)
    answer.pop("ResponseMetadata")
    return answer


def events_of(function, count: int, timeout: float = 60) -> list[dict]:
    """The events of the function's first `count` finished S3 invocations, oldest first."""
    def done():
        rows = list(Invocation.objects.filter(function=function, source="s3", status=Invocation.Status.SUCCEEDED)
                    .order_by("received"))
        return rows if len(rows) >= count else None
    rows = eventually(done, timeout=timeout, interval=0.1)
    return [json.loads(row.response)["Records"][0] for row in rows]


@pytest.fixture
def setup(alice_lambda, alice_s3, alice_account):
    fn = python_function(alice_account, ECHO, name="echo")
    alice_s3.create_bucket(Bucket="photos")
    allow_s3(alice_lambda, fn, "photos", alice_account.account_id)
    return fn


def test_an_upload_runs_the_function_once_with_s3s_event(setup, alice_s3, alice_lambda):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn, "s3:ObjectCreated:*", prefix="uploads/", suffix=".jpg",
                                                id="thumbs"))
    assert stored(alice_s3, "photos") == {"LambdaFunctionConfigurations": [{
        "Id": "thumbs", "LambdaFunctionArn": fn.arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "uploads/"},
                                           {"Name": "Suffix", "Value": ".jpg"}]}}}]}
    body = b"\xff\xd8 not really a jpeg"
    before = dt.datetime.now(dt.timezone.utc)
    put = alice_s3.put_object(Bucket="photos", Key="uploads/red flower (1)+.jpg", Body=body)
    [event] = events_of(fn, 1)
    caller = client_like(alice_lambda, "sts").get_caller_identity()
    assert event["eventVersion"] == "2.1" and event["eventSource"] == "aws:s3"
    assert event["awsRegion"] == settings.LAMBDA_REGION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["eventTime"])
    when = dt.datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    assert before - dt.timedelta(seconds=1) <= when <= dt.datetime.now(dt.timezone.utc)
    assert event["eventName"] == "ObjectCreated:Put"
    assert event["userIdentity"] == {"principalId": f"AWS:{caller['UserId']}"}
    assert event["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert event["responseElements"] == {"x-amz-request-id": put["ResponseMetadata"]["RequestId"],
                                         "x-amz-id-2": put["ResponseMetadata"]["HostId"]}
    s3 = event["s3"]
    assert s3["s3SchemaVersion"] == "1.0" and s3["configurationId"] == "thumbs"
    assert s3["bucket"]["name"] == "photos" and s3["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert re.fullmatch(r"A[A-Z0-9]{13}", s3["bucket"]["ownerIdentity"]["principalId"])
    # The key URL-encoded as S3 sends it: a space is "+", a "+" is "%2B", "/" stays.
    assert s3["object"]["key"] == "uploads/red+flower+%281%29%2B.jpg"
    assert s3["object"]["size"] == len(body) and s3["object"]["eTag"] == hashlib.md5(body).hexdigest()
    assert re.fullmatch(r"[0-9A-F]{18}", s3["object"]["sequencer"])
    assert list(event) == ["eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
                           "requestParameters", "responseElements", "s3"]

    # Once per upload: a second upload of the key is a second event, with a larger sequencer.
    alice_s3.put_object(Bucket="photos", Key="uploads/red flower (1)+.jpg", Body=b"again")
    first, second = events_of(fn, 2)
    assert second["s3"]["object"]["sequencer"] > first["s3"]["object"]["sequencer"]
    assert second["s3"]["object"]["size"] == 5
    time.sleep(1)
    assert Invocation.objects.filter(function=fn).count() == 2


def test_filters_that_do_not_match_run_nothing(setup, alice_s3):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn, "s3:ObjectCreated:Put", prefix="images/", suffix=".png"))
    alice_s3.put_object(Bucket="photos", Key="images/a.jpg", Body=b"1")  # the suffix differs
    alice_s3.put_object(Bucket="photos", Key="docs/a.png", Body=b"2")  # the prefix differs
    alice_s3.put_object(Bucket="photos", Key="Images/a.png", Body=b"3")  # filters are case-sensitive
    time.sleep(QUIET)
    assert not Invocation.objects.filter(function=fn).exists()
    alice_s3.put_object(Bucket="photos", Key="images/b.png", Body=b"4")
    [event] = events_of(fn, 1)
    assert event["s3"]["object"]["key"] == "images/b.png"
    assert Invocation.objects.filter(function=fn).count() == 1


def test_a_removal_configuration_ignores_uploads_and_reports_deletes(setup, alice_s3):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn, "s3:ObjectRemoved:*", id="gone"))
    alice_s3.put_object(Bucket="photos", Key="old file.txt", Body=b"bye")
    alice_s3.delete_object(Bucket="photos", Key="old file.txt")
    [event] = events_of(fn, 1)
    assert event["eventName"] == "ObjectRemoved:Delete" and event["s3"]["configurationId"] == "gone"
    # Removal events name the key and its sequencer only (no size, no eTag).
    assert set(event["s3"]["object"]) == {"key", "sequencer"}
    assert event["s3"]["object"]["key"] == "old+file.txt"
    assert Invocation.objects.filter(function=fn).count() == 1


def test_killing_the_worker_right_after_an_upload_still_delivers_the_event(setup, alice_s3, worker):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn))
    alice_s3.put_object(Bucket="photos", Key="during-a-crash.txt", Body=b"x")
    worker.kill()  # SIGKILL: whatever it had taken is neither run nor acknowledged
    worker.start()
    [event] = events_of(fn, 1, timeout=90)
    assert event["s3"]["object"]["key"] == "during-a-crash.txt"
    time.sleep(QUIET)
    rows = list(Invocation.objects.filter(function=fn))
    assert len(rows) == 1 and rows[0].status == Invocation.Status.SUCCEEDED


def error_of(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]


def test_bad_configurations_are_refused_and_nothing_changes(setup, alice_s3, alice_lambda, alice_account):
    fn = setup
    good = lambda_config(fn, "s3:ObjectCreated:*", prefix="in/", id="good")
    configure(alice_s3, "photos", good)
    before = stored(alice_s3, "photos")

    def refused(*configs: dict) -> dict:
        error = error_of(lambda: configure(alice_s3, "photos", *configs))
        assert stored(alice_s3, "photos") == before
        return error

    # A function S3 may not invoke: missing, or its policy does not name this bucket.
    missing = f"arn:aws:lambda:{settings.LAMBDA_REGION}:{alice_account.account_id}:function:nope"
    error = refused({"LambdaFunctionArn": missing, "Events": ["s3:ObjectCreated:*"]})
    assert error == {"Code": "InvalidArgument", "Message": "Unable to validate the following destination "
                     "configurations", "ArgumentName1": f"{missing}, null",
                     "ArgumentValue1": f"Not authorized to invoke function [{missing}]"}
    stranger = python_function(alice_account, ECHO, name="stranger")
    alice_s3.create_bucket(Bucket="elsewhere")
    allow_s3(alice_lambda, stranger, "elsewhere", alice_account.account_id)
    error = refused(lambda_config(stranger))
    assert error["Code"] == "InvalidArgument" and error["ArgumentName1"] == f"{stranger.arn}, null"
    assert error_of(lambda: configure(alice_s3, "photos", lambda_config(fn, "s3:ObjectCreated:*", id="good"),
                                      lambda_config(stranger, "s3:ObjectRemoved:*")))["ArgumentValue1"] == \
        f"Not authorized to invoke function [{stranger.arn}]"
    # Overlaps: two configurations one event could both match.
    error = refused(lambda_config(fn, "s3:ObjectCreated:*"), lambda_config(fn, "s3:ObjectCreated:Put"))
    assert error["Message"] == "Configurations overlap. Configurations on the same bucket cannot share a " \
                               "common event type."
    assert error["ArgumentName"] == "Event" and error["ArgumentValue"] == "s3:ObjectCreated:*, s3:ObjectCreated:Put"
    for a, b in ((dict(prefix="images/"), {}), (dict(prefix="images/"), dict(prefix="images/2024/")),
                 (dict(suffix=".jpg"), dict(suffix="jpg")), (dict(prefix="images/"), dict(suffix=".jpg"))):
        error = refused(lambda_config(fn, **a), lambda_config(fn, **b))
        assert error["Message"] == ("Configuration is ambiguously defined. Cannot have overlapping suffixes in two "
                                    "rules if the prefixes are overlapping for the same event type."), (a, b)
    # Events and filters S3 does not take.
    error = refused(lambda_config(fn, "s3:ObjectTagging:*"))
    assert error["Message"] == "The event is not supported for notifications"
    assert error["ArgumentValue"] == "s3:ObjectTagging:*"
    two_prefixes = lambda_config(fn, prefix="a/")
    two_prefixes["Filter"]["Key"]["FilterRules"].append({"Name": "prefix", "Value": "b/"})
    assert refused(two_prefixes)["Message"] == "Cannot specify more than one prefix rule in a filter."
    odd = lambda_config(fn)
    odd["Filter"] = {"Key": {"FilterRules": [{"Name": "middle", "Value": "x"}]}}
    assert refused(odd)["Message"] == "filter rule name must be either prefix or suffix"
    # Destinations this server does not serve: said plainly, nothing changed.
    error = error_of(lambda: alice_s3.put_bucket_notification_configuration(
        Bucket="photos", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": "arn:aws:sqs:us-east-1:111111111111:q", "Events": ["s3:ObjectCreated:*"]}]}))
    assert error["Code"] == "NotImplemented" and "SQS" in error["Message"]
    assert stored(alice_s3, "photos") == before


def test_configurations_s3_accepts(setup, alice_s3):
    fn = setup
    # Filters no key can satisfy together, or event types apart: no overlap. An Id is made when absent.
    configure(alice_s3, "photos", lambda_config(fn, prefix="images/", suffix=".jpg"),
              lambda_config(fn, prefix="images/", suffix=".png"), lambda_config(fn, prefix="videos/"),
              lambda_config(fn, "s3:ObjectRemoved:*"))
    configs = stored(alice_s3, "photos")["LambdaFunctionConfigurations"]
    assert len(configs) == 4 and len({c["Id"] for c in configs}) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{48}", c["Id"]) for c in configs)
    # Uppercase rule names are taken as S3 takes them, and stored as S3 shows them.
    configure(alice_s3, "photos", {**lambda_config(fn), "Filter": {"Key": {"FilterRules": [
        {"Name": "Prefix", "Value": "a/"}]}}})
    assert stored(alice_s3, "photos")["LambdaFunctionConfigurations"][0]["Filter"] == \
        {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "a/"}]}}
    # SkipDestinationValidation: a function not there yet is taken (and its events dropped until it is).
    missing = dict(lambda_config(fn), LambdaFunctionArn=fn.arn + "-not-yet")
    alice_s3.put_bucket_notification_configuration(
        Bucket="photos", NotificationConfiguration={"LambdaFunctionConfigurations": [missing]},
        SkipDestinationValidation=True)
    assert stored(alice_s3, "photos")["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"] == fn.arn + "-not-yet"
    # An empty document turns notifications off.
    alice_s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={})
    assert stored(alice_s3, "photos") == {}
    alice_s3.put_object(Bucket="photos", Key="images/x.jpg", Body=b"1")
    time.sleep(QUIET)
    assert not Invocation.objects.filter(function=fn).exists()


def test_only_the_buckets_account_reads_or_changes_its_notifications(setup, alice_s3, charlie_s3):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn))
    assert error_of(lambda: charlie_s3.get_bucket_notification_configuration(Bucket="photos"))["Code"] == \
        "AccessDenied"
    assert error_of(lambda: configure(charlie_s3, "photos"))["Code"] == "AccessDenied"
    assert len(stored(alice_s3, "photos")["LambdaFunctionConfigurations"]) == 1
    assert error_of(lambda: alice_s3.get_bucket_notification_configuration(Bucket="no-such-bucket"))["Code"] == \
        "NoSuchBucket"


# --- In process: the transaction, and the console's test template ---------------------------------

@pytest.fixture
def configured_bucket(alice_account):
    from console.s3.services.buckets import bucket_create
    from console.s3.services.notifications import notification_put
    from console.services.permissions import permission_add

    fn = python_function(alice_account, ECHO, name="echo")
    bucket = bucket_create(alice_account, "inbox", settings.LAMBDA_REGION)
    permission_add(fn, None, statement_id="s3", action="lambda:InvokeFunction", principal="s3.amazonaws.com",
                   source_arn=bucket.arn, source_account=alice_account.account_id)
    notification_put(bucket, [lambda_config(fn)])
    return bucket, fn


def store(bucket, key: str, data: bytes):
    from console.s3 import storage
    from console.s3.services.events import Change
    from console.s3.services.objects import object_store

    with storage.BlobWriter() as writer:
        writer.write(data)
        change = Change("ObjectCreated:Put", key, writer.size, writer.etag, None, "10.0.0.9", "REQ1")
        return object_store(bucket, key, writer, {}, change)


def test_the_event_commits_with_the_object_or_not_at_all(configured_bucket, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from django.db import transaction

    from console.s3.models import S3Object
    from executor import invoke as invoke_module

    bucket, fn = configured_bucket
    with pytest.raises(RuntimeError), transaction.atomic():
        store(bucket, "rolled-back.txt", b"x")
        raise RuntimeError("the change fails after the object's row was written")
    assert not S3Object.objects.exists() and not Invocation.objects.exists()

    # Redis refusing the message loses nothing: the row is queued, and the reaper sends it.
    def refuse(request_id):
        raise ConnectionError("Redis is restarting")
    monkeypatch.setattr(invoke_module.queues, "send_event", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        store(bucket, "kept.txt", b"kept")
    row = Invocation.objects.get(function=fn)
    assert row.status == Invocation.Status.QUEUED and row.source == "s3" and row.due is not None
    assert json.loads(row.payload)["Records"][0]["s3"]["object"]["key"] == "kept.txt"


def test_an_event_that_cannot_be_queued_does_not_fail_the_upload(configured_bucket, monkeypatch, caplog):
    from console.errors import ResourceConflict
    from console.s3.models import S3Object
    from console.s3.services import events

    bucket, fn = configured_bucket

    def inactive(*args, **kwargs):
        raise ResourceConflict("The function is currently in the following state: Pending")
    monkeypatch.setattr(events, "invoke", inactive)
    store(bucket, "still-stored.txt", b"x")
    assert S3Object.objects.filter(key="still-stored.txt").exists()
    assert "not queued" in caplog.text


def test_a_function_of_another_account_is_invoked_when_its_policy_allows_the_bucket(configured_bucket,
                                                                                    charlie_account):
    from console.s3.services.notifications import notification_put
    from console.services.permissions import permission_add
    from console.s3.wire.errors import InvalidArgument

    bucket, _ = configured_bucket
    theirs = python_function(charlie_account, ECHO, name="theirs")
    with pytest.raises(InvalidArgument):
        notification_put(bucket, [lambda_config(theirs)])
    # Lambda developer guide: the other account's function names the bucket and its owner.
    permission_add(theirs, None, statement_id="from-alice", action="lambda:InvokeFunction",
                   principal="s3.amazonaws.com", source_arn=bucket.arn, source_account=bucket.account.account_id)
    notification_put(bucket, [lambda_config(theirs)])
    store(bucket, "for-charlie.txt", b"x")
    row = Invocation.objects.get(function=theirs)
    assert row.source == "s3" and json.loads(row.payload)["Records"][0]["s3"]["bucket"]["name"] == "inbox"


def test_the_s3_put_test_template_has_the_shape_a_bucket_sends(configured_bucket):
    from console.s3.services.events import Change, event_record
    from console.services.saved_events import EVENT_TEMPLATES

    def shape(value):
        return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__

    bucket, _ = configured_bucket
    sent = event_record(bucket, Change("ObjectCreated:Put", "test/key", 1024, "0123", None, "127.0.0.1", "R"), "id")
    template = EVENT_TEMPLATES["s3-put"]["Records"][0]
    assert shape(template) == shape(sent)
    assert list(template) == list(sent) and list(template["s3"]["object"]) == list(sent["s3"]["object"])
    assert template["eventVersion"] == sent["eventVersion"] == "2.1"


# --- The console: Add trigger -> S3, the diagram, the Triggers list --------------------------------

def test_console_adds_an_s3_trigger_as_awss_console_does(alice_client, alice_account, charlie_client, alice_s3):
    from django.urls import reverse

    from console.models import FunctionPermission
    from console.s3.models import Bucket
    from console.s3.services.buckets import bucket_create

    fn = python_function(alice_account, ECHO, name="hello")
    bucket_create(alice_account, "uploads", settings.LAMBDA_REGION)
    add = reverse("function-trigger-add", args=["hello"])
    page = alice_client.get(add + "?source=s3").content.decode()
    assert '<option value="uploads">uploads</option>' in page and "All object create events" in page
    form = {"source": "s3", "bucket": "uploads", "s3_events": ["s3:ObjectCreated:*"], "prefix": "images/",
            "suffix": ".jpg", "recursion_ack": "on"}
    response = alice_client.post(add, form)
    assert response.status_code == 302 and response.url == reverse("function", args=["hello"])

    # The statement AWS's console adds, then the bucket's configuration.
    [permission] = FunctionPermission.objects.filter(function=fn)
    statement = permission.statement
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "lambda:InvokeFunction"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceAccount": alice_account.account_id},
                                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}}
    [config] = Bucket.objects.get(name="uploads").notification_configuration["LambdaFunctionConfigurations"]
    assert config["LambdaFunctionArn"] == fn.arn and config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "images/"},
                                                      {"Name": "Suffix", "Value": ".jpg"}]

    # Shown in the overview diagram and the Triggers list.
    page = alice_client.get(reverse("function", args=["hello"])).content.decode()
    diagram = page.split('id="overview-diagram"')[1].split('<dl class="overview">')[0]
    assert "diagram-node trigger s3" in diagram and "uploads" in diagram
    triggers = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=triggers")
    row = triggers.content.decode().split(f'id="s3-uploads-{config["Id"]}"')[1].split("</tr>")[0]
    assert "s3:ObjectCreated:*" in row and "images/" in row and ".jpg" in row and "arn:aws:s3:::uploads" in row

    # It works: an upload through the API runs the function.
    alice_s3.put_object(Bucket="uploads", Key="images/cat.jpg", Body=b"meow")
    [event] = events_of(fn, 1)
    assert event["s3"]["configurationId"] == config["Id"] and event["s3"]["object"]["key"] == "images/cat.jpg"

    # An overlapping second trigger is refused in S3's words, and nothing is added.
    response = alice_client.post(add, {**form, "prefix": "images/2024/"})
    assert response.status_code == 400
    assert "Configuration is ambiguously defined" in response.content.decode()
    assert len(Bucket.objects.get(name="uploads").notification_configuration["LambdaFunctionConfigurations"]) == 1
    assert FunctionPermission.objects.filter(function=fn).count() == 1
    response = alice_client.post(add, {**form, "recursion_ack": ""})
    assert response.status_code == 400 and "Acknowledge the risk of recursive invocations" in response.content.decode()

    # Removal: the configuration goes; another account cannot remove it.
    delete = reverse("function-s3-trigger-delete", args=["hello", "uploads"])
    assert charlie_client.post(delete, {"config_id": config["Id"]}).status_code == 404
    response = alice_client.post(delete, {"config_id": config["Id"]})
    assert response.status_code == 302
    assert Bucket.objects.get(name="uploads").notification_configuration == {}
    triggers = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=triggers")
    assert "s3-uploads-" not in triggers.content.decode()


def test_the_console_offers_only_the_accounts_buckets(alice_client, alice_account, charlie_account):
    from django.urls import reverse

    from console.s3.models import Bucket
    from console.s3.services.buckets import bucket_create

    python_function(alice_account, ECHO, name="hello")
    bucket_create(charlie_account, "charlies", settings.LAMBDA_REGION)
    add = reverse("function-trigger-add", args=["hello"])
    assert "charlies" not in alice_client.get(add).content.decode()
    response = alice_client.post(add, {"source": "s3", "bucket": "charlies", "s3_events": ["s3:ObjectCreated:*"],
                                       "recursion_ack": "on"})
    assert response.status_code == 400 and Bucket.objects.get(name="charlies").notification_configuration == {}


@pytest.mark.browser
def test_add_an_s3_trigger_in_the_browser_and_see_it_run(alice_page, alice_account, alice_s3):
    from playwright.sync_api import expect

    page = alice_page
    fn = python_function(alice_account, ECHO, name="on-upload")
    alice_s3.create_bucket(Bucket="dropbox")
    page.goto("/functions/on-upload")
    diagram = page.locator("#overview-diagram")
    diagram.get_by_role("link", name="+ Add trigger").click()
    page.get_by_role("radio", name="S3").check()
    page.get_by_label("Bucket", exact=True).select_option("dropbox")
    expect(page.get_by_label("All object create events")).to_be_checked()
    page.get_by_label("Suffix - optional").fill(".txt")
    page.get_by_label("I acknowledge that using the same S3 bucket").check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("The trigger dropbox was successfully added")
    expect(diagram.locator(".diagram-node.s3")).to_contain_text("dropbox")

    alice_s3.put_object(Bucket="dropbox", Key="notes/hello world.txt", Body=b"hi")
    [event] = events_of(fn, 1)
    assert event["s3"]["object"]["key"] == "notes/hello+world.txt"

    page.get_by_role("link", name="Configuration", exact=True).click()
    page.get_by_role("link", name="Triggers", exact=True).click()
    row = page.locator("#triggers-table tr", has_text="dropbox")
    expect(row).to_contain_text("s3:ObjectCreated:*")
    expect(row).to_contain_text(".txt")
    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash.success")).to_contain_text("The trigger dropbox was successfully deleted")
    assert stored(alice_s3, "dropbox") == {}


def test_copies_and_batch_deletes_send_their_own_events(setup, alice_s3):
    fn = setup
    configure(alice_s3, "photos", lambda_config(fn, "s3:ObjectCreated:Copy", id="copies"),
              lambda_config(fn, "s3:ObjectRemoved:Delete", id="deletes"))
    alice_s3.put_object(Bucket="photos", Key="original.txt", Body=b"twelve bytes")  # a Put: no event
    alice_s3.copy_object(Bucket="photos", Key="copy.txt", CopySource={"Bucket": "photos", "Key": "original.txt"})
    [copied] = events_of(fn, 1)
    assert copied["eventName"] == "ObjectCreated:Copy" and copied["s3"]["configurationId"] == "copies"
    assert copied["s3"]["object"]["size"] == 12
    assert copied["s3"]["object"]["eTag"] == hashlib.md5(b"twelve bytes").hexdigest()
    alice_s3.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": "original.txt"}, {"Key": "copy.txt"}]})
    events = events_of(fn, 3)[1:]
    assert sorted(e["s3"]["object"]["key"] for e in events) == ["copy.txt", "original.txt"]
    assert {e["eventName"] for e in events} == {"ObjectRemoved:Delete"}
    time.sleep(1)
    assert Invocation.objects.filter(function=fn).count() == 3
