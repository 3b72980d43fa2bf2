"""Requests signed for another AWS service than Lambda get that service's own error shape.

An SDK pointed at this server for S3, SQS, STS... must get an error it can parse, with a
status it does not retry (never the console's HTML CSRF page). Codes from AWS's "Common
Errors" page (UnknownOperationException 404 for JSON protocols, InvalidAction 400 for query
protocols). IAM, STS and S3 are served here (tests/test_iam_api.py, tests/test_s3_*.py): an
unknown key gets their own refusal; SNS stands for the query services not served yet.
"""
from __future__ import annotations

import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from console.models import Function

from .api_helpers import REGION

KEY = ("AKIAFOREIGNSERVICE00", "secret")


@pytest.fixture
def server(live_server_process, transactional_db):
    return live_server_process.url


def _client(service: str, server: str, **config):
    # The SDK's default retry policy: a retried status would show in RetryAttempts.
    return boto3.client(service, endpoint_url=server, region_name=REGION, aws_access_key_id=KEY[0],
                        aws_secret_access_key=KEY[1], config=Config(**config))


def _error(call) -> tuple[int, str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    meta = response["ResponseMetadata"]
    return meta["HTTPStatusCode"], response["Error"]["Code"], response["Error"].get("Message", ""), \
        meta.get("RetryAttempts", 0)


@pytest.mark.parametrize("service, call, expected", [
    ("sqs", lambda c: c.create_queue(QueueName="made-here"), (404, "UnknownOperationException")),
    ("sns", lambda c: c.create_topic(Name="made-here"), (400, "InvalidAction")),
    ("dynamodb", lambda c: c.list_tables(), (404, "UnknownOperationException")),
    ("events", lambda c: c.list_rules(), (404, "UnknownOperationException")),
    ("logs", lambda c: c.describe_log_groups(), (404, "UnknownOperationException")),
])
def test_other_services_get_their_own_error_shape_and_no_retry(server, service, call, expected):
    status, code, message, retries = _error(lambda: call(_client(service, server)))
    assert (status, code) == expected
    assert f"the {service} service is not available here" in message
    assert retries == 0
    assert not Function.objects.exists()


def test_the_error_names_the_operation(server):
    _, _, message, _ = _error(lambda: _client("sns", server).list_topics())
    assert "ListTopics" in message
    _, _, message, _ = _error(lambda: _client("sqs", server).create_queue(QueueName="q"))
    assert "CreateQueue" in message


@pytest.mark.parametrize("call", [lambda c: c.create_bucket(Bucket="made-here"),
                                  lambda c: c.put_object(Bucket="made-here", Key="k", Body=b"x" * 200_000)])
def test_s3_answers_an_unknown_key_in_its_own_shape(server, call):
    # S3's "Error responses": an access key it does not know is InvalidAccessKeyId, 403, not retried.
    status, code, _message, retries = _error(lambda: call(_client("s3", server, s3={"addressing_style": "path"})))
    assert (status, code, retries) == (403, "InvalidAccessKeyId", 0)


@pytest.mark.parametrize("signature_version", [None, "s3v4"])  # boto3 presigns S3 URLs with version 2
def test_a_presigned_url_with_an_unknown_key_is_refused_in_s3s_shape(server, signature_version):
    client = _client("s3", server, s3={"addressing_style": "path"}, signature_version=signature_version)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    assert caught.value.code == 403
    assert caught.value.read().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId')


def test_a_console_page_signed_for_another_service_is_not_the_html_csrf_page(server):
    request = AWSRequest(method="POST", url=server + "/functions/create", data=b"Action=CreateTopic",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(*KEY), "sns", REGION).add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=b"Action=CreateTopic", method="POST",
                                 headers=dict(prepared.headers))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(raw, timeout=10)
    body = caught.value.read()
    assert caught.value.code == 400 and b"<Code>InvalidAction</Code>" in body and b"<html" not in body.lower()
