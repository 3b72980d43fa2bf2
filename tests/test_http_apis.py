"""HTTP APIs (API Gateway) through the real server (Daphne), worker, Redis and Docker."""
from __future__ import annotations

import json

import pytest

from console.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from console.models import Invocation
from console.services.http_apis import http_api_create, http_api_get, http_route_create, http_route_update
from tests.conftest import eventually, python_function
from tests.http_helpers import AWS_HANDLER, request


def test_colliding_routes_are_refused(alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    api = http_api_create(alice_account, "shop")
    http_route_create(api, "GET /items/{id}", fn)
    for key in ("GET /items/{id}", "GET /items/{name}"):
        with pytest.raises(ResourceConflict):
            http_route_create(api, key, fn)
    http_route_create(api, "ANY /items/{id}", fn)  # another method: a different route
    http_route_create(api, "GET /{proxy+}", fn)
    with pytest.raises(ResourceConflict):
        http_route_create(api, "GET /{path+}", fn)
    http_route_create(api, "$default", fn)
    with pytest.raises(ResourceConflict):
        http_route_create(api, "$default", fn)
    post = http_route_create(api, "POST /items", fn)
    with pytest.raises(ResourceConflict):
        http_route_update(post, route_key="GET /items/{other}")


def test_route_keys_are_validated(alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    api = http_api_create(alice_account, "shop")
    for key in ("GET items", "FETCH /items", "GET /{proxy+}/x", "GET /a//b", "GET /{id}/{id}", "GET /a{b}", "$other"):
        with pytest.raises(InvalidParameterValue):
            http_route_create(api, key, fn)
    with pytest.raises(InvalidParameterValue):
        http_api_create(alice_account, "shop", cors={"AllowOrigins": "*"})


def test_routes_and_apis_stay_in_their_account(alice_account, charlie_account):
    alice_fn = python_function(alice_account, AWS_HANDLER)
    charlie_api = http_api_create(charlie_account, "theirs")
    with pytest.raises(ResourceNotFound):
        http_route_create(charlie_api, "GET /steal", alice_fn)
    api = http_api_create(alice_account, "mine")
    with pytest.raises(ResourceNotFound):
        http_api_get(charlie_account, api.api_id)
    assert http_api_get(alice_account, api.api_id) == api


@pytest.mark.integration
def test_aws_handler_answers_routes_with_path_parameters(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    api = http_api_create(alice_account, "shop")
    for key in ("GET /items/{id}", "POST /items", "ANY /{proxy+}"):
        http_route_create(api, key, fn)
    base = f"{trigger_url}/http-api/{api.api_id}"

    got = request("GET", f"{base}/items/42?color=red&color=blue", headers=[("Cookie", "a=1; b=2")])
    assert got.status == 200
    assert got.all("Set-Cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    assert got.header("Apigw-Requestid")
    event = got.event
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"color": "red,blue"}
    assert event["cookies"] == ["a=1", "b=2"]
    context = event["requestContext"]
    assert context["apiId"] == api.api_id and context["accountId"] == alice_account.account_id
    assert context["routeKey"] == "GET /items/{id}" and context["stage"] == "$default"
    assert context["http"]["method"] == "GET" and context["http"]["path"] == "/items/42"

    posted = request("POST", f"{base}/items", body=b'{"name": "lamp"}', headers=[("Content-Type", "application/json")])
    assert posted.status == 200 and posted.event["routeKey"] == "POST /items"
    assert json.loads(posted.event["body"]) == {"name": "lamp"} and "pathParameters" not in posted.event

    greedy = request("DELETE", f"{base}/items/42/parts/7")
    assert greedy.event["routeKey"] == "ANY /{proxy+}"
    assert greedy.event["pathParameters"] == {"proxy": "items/42/parts/7"}

    form = request("POST", f"{base}/forms", body=b"a=1&b=2", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert form.event["isBase64Encoded"] is True and form.event["body"] == "YT0xJmI9Mg=="

    binary = request("PUT", f"{base}/files/binary", body=b"\x00\x01\xfe\xff",
                     headers=[("Content-Type", "image/png")])
    assert binary.status == 200 and binary.body == b"\xff\xfe\x01\x00"

    assert request("GET", f"{base}/").json() == {"message": "Not Found"}  # no $default route
    assert request("GET", f"{trigger_url}/http-api/zzzzzzzzzz/items").status == 404
    eventually(lambda: Invocation.objects.filter(function=fn, source="http-api").count() == 5 or None)


@pytest.mark.integration
def test_default_route_errors_and_timeouts(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER, timeout=1)
    api = http_api_create(alice_account, "catch-all", cors={"AllowOrigins": ["*"], "AllowMethods": ["GET"]})
    http_route_create(api, "$default", fn)
    base = f"{trigger_url}/http-api/{api.api_id}"
    assert request("GET", f"{base}/").event["routeKey"] == "$default"
    assert request("GET", f"{base}/fail").status == 502
    assert request("GET", f"{base}/malformed").json() == {"message": "Internal Server Error"}
    slow = request("GET", f"{base}/sleep")
    assert (slow.status, slow.json()) == (504, {"message": "Endpoint request timed out"})
    pre = request("OPTIONS", f"{base}/fail", headers=[("Origin", "https://x.example"),
                                                       ("Access-Control-Request-Method", "GET")])
    assert pre.status == 204
    assert pre.header("Access-Control-Allow-Origin") == "*" and pre.header("Access-Control-Allow-Methods") == "GET"
    again = request("GET", f"{base}/plain", headers=[("Origin", "https://x.example")])
    assert again.status == 200 and again.json() == {"hello": "world"}
    assert again.header("Access-Control-Allow-Origin") == "*"
