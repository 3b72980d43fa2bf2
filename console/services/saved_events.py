"""Saved test events for the Test tab, and the templates AWS offers for new ones."""
from __future__ import annotations

import json
import re

from django.utils import timezone

from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..models import Function, TestEvent

EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,25}$")


def parse_event_json(text: str) -> object:
    """The event as JSON, or an error that names the line (and column) where parsing failed."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterValue(
            f"Event JSON is not valid: {exc.msg} at line {exc.lineno}, column {exc.colno}.", field="body")


def validate_event_name(name: str) -> str:
    if not EVENT_NAME_RE.match(name or ""):
        raise InvalidParameterValue(
            "Event name must be 1 to 25 characters: letters, numbers, periods, hyphens or underscores.",
            field="name")
    return name


def test_events_for(function: Function, user) -> list[TestEvent]:
    return list(TestEvent.objects.filter(function=function).visible_to(user).select_related("owner"))


def test_event_get(function: Function, user, name: str) -> TestEvent:
    event = TestEvent.objects.filter(function=function, name=name).visible_to(user).first()
    if event is None:
        raise ResourceNotFound(f"Test event not found: {name}", field="name")
    return event


def test_event_save(function: Function, user, name: str, body: str, shareable: bool = False) -> TestEvent:
    """Create the event, or update it when it exists and the user may change it."""
    validate_event_name(name)
    parse_event_json(body)
    event = TestEvent.objects.filter(function=function, name=name).first()
    if event is None:
        return TestEvent.objects.create(function=function, name=name, body=body, owner=user, shareable=shareable)
    if event.owner_id != user.pk and not event.shareable:
        # Someone else's private event: its name is taken, but its content is not ours to see.
        raise ResourceConflict(f"An event named {name} already exists.", field="name")
    event.body, event.shareable, event.last_modified = body, shareable, timezone.now()
    event.save(update_fields=["body", "shareable", "last_modified"])
    return event


def test_event_delete(function: Function, user, name: str) -> None:
    test_event_get(function, user, name).delete()


_API_HTTP = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                 "userAgent": "agent"},
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from Lambda",
    "pathParameters": {"parameter1": "value1"},
    "isBase64Encoded": False,
    "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
}

_S3_PUT = {"Records": [{
    "eventVersion": "2.1",  # what a bucket here sends (tests/test_s3_notifications.py compares the shapes)
    "eventSource": "aws:s3",
    "awsRegion": "us-east-1",
    "eventTime": "1970-01-01T00:00:00.000Z",
    "eventName": "ObjectCreated:Put",
    "userIdentity": {"principalId": "EXAMPLE"},
    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
    "responseElements": {"x-amz-request-id": "EXAMPLE123456789",
                         "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"},
    "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "testConfigRule",
        "bucket": {"name": "example-bucket", "ownerIdentity": {"principalId": "EXAMPLE"},
                   "arn": "arn:aws:s3:::example-bucket"},
        "object": {"key": "test/key", "size": 1024, "eTag": "0123456789abcdef0123456789abcdef",
                   "sequencer": "0A1B2C3D4E5F678901"},
    },
}]}

_SQS = {"Records": [
    {
        "messageId": message_id,
        "receiptHandle": "MessageReceiptHandle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000",
                       "SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1523232000001"},
        "messageAttributes": {},
        "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:MyQueue",
        "awsRegion": "us-east-1",
    }
    for message_id, body in (("19dd0b57-b21e-4ac1-bd88-01bbb068cb78", "Hello from SQS!"),
                             ("2e1424d4-f796-459a-8184-9c92662be6da", "Second message"))
]}

_SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2015-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
    "detail": {},
}

_SNS = {"Records": [{
    "EventVersion": "1.0",
    "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
    "EventSource": "aws:sns",
    "Sns": {
        "SignatureVersion": "1",
        "Timestamp": "2019-01-02T12:45:07.000Z",
        "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "Message": "Hello from SNS!",
        "MessageAttributes": {"Test": {"Type": "String", "Value": "TestString"}},
        "Type": "Notification",
        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&amp;SubscriptionArn=arn:aws:sns:us-east-1:123456789012:test-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda",
        "Subject": "TestInvoke",
    },
}]}

EVENT_TEMPLATES: dict[str, object] = {
    "hello-world": {"key1": "value1", "key2": "value2", "key3": "value3"},
    "apigateway-http-api": _API_HTTP,
    "s3-put": _S3_PUT,
    "sqs": _SQS,
    "eventbridge-scheduled": _SCHEDULED,
    "sns": _SNS,
}


def event_templates() -> dict[str, str]:
    """Template name -> pretty JSON text, for the Test tab's template picker."""
    return {name: json.dumps(body, indent=2) for name, body in EVENT_TEMPLATES.items()}
