"""Function URLs through the real server (Daphne), worker, Redis and Docker."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from console.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from console.models import Invocation
from console.services.function_urls import (function_url_create, function_url_get, function_url_update,
                                            function_urls_list)
from tests.conftest import eventually, python_function
from tests.http_helpers import AWS_HANDLER, request


def test_function_url_for_another_accounts_function_is_refused(alice_account, charlie_account):
    fn = python_function(alice_account, AWS_HANDLER)
    with pytest.raises(ResourceNotFound):
        function_url_create(charlie_account, fn, auth_type="NONE")
    with pytest.raises(ResourceNotFound):
        function_urls_list(charlie_account, fn)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    with pytest.raises(ResourceNotFound):
        function_url_get(charlie_account, fn)
    assert function_url_get(alice_account, fn) == config
    assert len(config.url_id) == 32 and config.url_id.isalnum() and config.url_id.islower()


def test_function_url_settings_are_validated(alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    with pytest.raises(InvalidParameterValue):
        function_url_create(alice_account, fn, auth_type="PASSWORD")
    with pytest.raises(InvalidParameterValue):
        function_url_create(alice_account, fn, auth_type="NONE", cors={"AllowOrigin": ["*"]})
    with pytest.raises(InvalidParameterValue):
        function_url_create(alice_account, fn, auth_type="NONE", cors={"MaxAge": 100000})
    with pytest.raises(InvalidParameterValue):
        function_url_create(alice_account, fn, auth_type="NONE", cors={"AllowMethods": ["FETCH"]})
    with pytest.raises(ResourceNotFound):
        function_url_create(alice_account, fn, auth_type="NONE", qualifier="no-such-alias")
    config = function_url_create(alice_account, fn, auth_type="NONE", cors={"AllowOrigins": ["https://a.example"]})
    with pytest.raises(ResourceConflict):
        function_url_create(alice_account, fn, auth_type="AWS_IAM")
    assert function_url_update(config, auth_type="AWS_IAM").auth_type == "AWS_IAM"


@pytest.mark.integration
def test_aws_handler_answers_get_and_post_through_a_function_url(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    base = f"{trigger_url}/lambda-url/{config.url_id}"

    got = request("GET", f"{base}/some/path?a=1&a=2&b=x%20y", headers=[
        ("Cookie", "c1=v1; c2=v2"), ("X-Multi", "one"), ("X-Multi", "two"), ("User-Agent", "tests/1.0")])
    assert got.status == 200
    assert got.header("Content-Type") == "application/json"
    assert got.all("Set-Cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    event = got.event
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/some/path"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["accountId"] == alice_account.account_id
    assert context["apiId"] == context["domainPrefix"] == config.url_id
    assert context["http"] == {"method": "GET", "path": "/some/path", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "tests/1.0"}
    assert context["stage"] == "$default" and context["routeKey"] == "$default"
    dt.datetime.strptime(context["time"], "%d/%b/%Y:%H:%M:%S %z")
    assert "authorizer" not in context

    posted = request("POST", f"{base}/items", body=json.dumps({"name": "widget"}).encode(),
                     headers=[("Content-Type", "application/json")])
    assert posted.status == 200
    assert json.loads(posted.event["body"]) == {"name": "widget"}
    assert posted.event["isBase64Encoded"] is False
    assert posted.event["requestContext"]["http"]["method"] == "POST"

    eventually(lambda: Invocation.objects.filter(function=fn, source="function-url").count() == 2 or None)


@pytest.mark.integration
def test_binary_bodies_travel_base64_both_ways(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    data = bytes(range(256)) * 4
    got = request("POST", f"{trigger_url}/lambda-url/{config.url_id}/binary", body=data,
                  headers=[("Content-Type", "application/octet-stream")])
    assert got.status == 200
    assert got.header("Content-Type") == "application/octet-stream"
    assert got.body == data[::-1]


@pytest.mark.integration
def test_host_based_function_url(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    got = request("GET", f"{trigger_url}/by-host?q=1", headers=[("Host", f"{config.hostname}:8001")])
    assert got.status == 200
    assert got.event["rawPath"] == "/by-host"
    assert got.event["requestContext"]["domainName"] == config.hostname


@pytest.mark.integration
def test_errors_give_502_and_the_url_keeps_working(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    base = f"{trigger_url}/lambda-url/{config.url_id}"
    for path in ("/fail", "/malformed", "/bad-base64", "/marshal"):
        got = request("GET", base + path)
        assert (path, got.status, got.json()) == (path, 502, {"message": "Internal Server Error"})
    plain = request("GET", base + "/plain")
    assert (plain.status, plain.header("Content-Type"), plain.json()) == (200, "application/json", {"hello": "world"})
    hop = request("GET", base + "/hop")
    assert hop.status == 201 and hop.body == b"ok" and hop.header("X-Ok") == "1"
    assert hop.header("Connection") != "close" and hop.header("Transfer-Encoding") is None
    assert request("GET", base + "/again").status == 200
    assert request("GET", f"{trigger_url}/lambda-url/{'0' * 32}/").status == 403
    eventually(lambda: Invocation.objects.filter(function=fn, source="function-url", status="failed").count() == 2
               or None)


@pytest.mark.integration
def test_aws_iam_function_url_needs_a_signature_of_the_functions_account(trigger_url, alice, charlie,
                                                                          alice_account):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from console.services.access_keys import access_key_create

    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="AWS_IAM")
    url = f"{trigger_url}/lambda-url/{config.url_id}/secure?x=1"
    unsigned = request("GET", url)
    assert (unsigned.status, unsigned.json()) == (403, {"Message": "Forbidden"})

    def signed(user) -> list[tuple[str, str]]:
        key, secret = access_key_create(user)
        aws = AWSRequest(method="GET", url=url, headers={"Host": trigger_url.split("//")[1]})
        SigV4Auth(Credentials(key.access_key_id, secret), "lambda", "us-east-1").add_auth(aws)
        return list(aws.headers.items())

    assert request("GET", url, headers=signed(charlie)).status == 403
    got = request("GET", url, headers=signed(alice))
    assert got.status == 200
    iam = got.event["requestContext"]["authorizer"]["iam"]
    assert iam["accountId"] == alice_account.account_id and iam["accessKey"].startswith("AKIA")


@pytest.mark.integration
def test_cors_preflight_is_answered_from_the_configuration(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE", cors={
        "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["content-type", "x-api-key"], "ExposeHeaders": ["x-ok"], "MaxAge": 300,
        "AllowCredentials": True})
    base = f"{trigger_url}/lambda-url/{config.url_id}"
    # The function would fail: a preflight never reaches it.
    pre = request("OPTIONS", base + "/fail", headers=[
        ("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type")])
    assert pre.status == 200
    assert pre.header("Access-Control-Allow-Origin") == "https://app.example"
    assert pre.header("Access-Control-Allow-Methods") == "GET,POST"
    assert pre.header("Access-Control-Allow-Headers") == "content-type,x-api-key"
    assert pre.header("Access-Control-Max-Age") == "300"
    assert pre.header("Access-Control-Allow-Credentials") == "true"
    hop = request("GET", base + "/hop", headers=[("Origin", "https://app.example")])
    assert hop.header("Access-Control-Allow-Origin") == "https://app.example"
    assert hop.header("Access-Control-Expose-Headers") == "x-ok"
    other = request("GET", base + "/hop", headers=[("Origin", "https://evil.example")])
    assert other.header("Access-Control-Allow-Origin") is None
    assert not Invocation.objects.filter(function=fn, status="failed").exists()


@pytest.mark.integration
def test_request_body_over_6_mb_gets_413(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    base = f"{trigger_url}/lambda-url/{config.url_id}"
    got = request("POST", base + "/big", body=b"x" * (6 * 1024 * 1024 + 1), headers=[("Content-Type", "text/plain")])
    assert got.status == 413
    # Under the limit as bytes but over it as a base64 event: refused the same way.
    got = request("POST", base + "/big", body=b"\x00" * (5 * 1024 * 1024),
                  headers=[("Content-Type", "application/octet-stream")])
    assert got.status == 413
    assert request("GET", base + "/small").status == 200
