"""Triggers live on an origin of their own: never on the console's, and never with its cookies.

AWS serves function URLs on their own domain (<url-id>.lambda-url.<region>.on.aws) for this
reason: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html. Here the trigger
listener is a second port (or host names under LAMBDA_URL_DOMAIN) of the same machine, and since
browsers share cookies across ports, the console's cookies are kept out of events and responses.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from console.services.function_urls import function_url_create
from console.services.http_apis import http_api_create, http_route_create
from console.triggers import cookies, endpoints, responses
from tests.conftest import python_function
from tests.http_helpers import AWS_HANDLER, request

# Answers with the cookies it is asked to set: ?set=name1,name2 (a function can know the names
# of the console's cookies only if someone tells it; the test tells it to prove they are dropped).
SETTER = '''
def lambda_handler(event, context):
    names = (event.get("queryStringParameters") or {}).get("set", "").split(",")
    return {"statusCode": 200, "cookies": [f"{n}=from-function; Path=/" for n in names if n] + ["theme=dark"],
            "headers": {"Set-Cookie": "=nameless=value; Path=/"}, "body": "ok"}
'''


def console_names() -> list[str]:
    return [settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, "sessionid", "csrftoken", "messages"]


# --- units ---------------------------------------------------------------------------------

def test_console_cookie_names_are_not_guessable_defaults():
    assert settings.SESSION_COOKIE_NAME.startswith("console_session_") and len(settings.SESSION_COOKIE_NAME) > 20
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_USE_SESSIONS
    assert settings.MESSAGE_STORAGE.endswith("SessionStorage")  # no messages cookie either


def test_request_cookies_drop_the_consoles_and_keep_the_rest():
    header = "; ".join(f"{n}=secret" for n in console_names()) + "; a=1; console_session_old=x;  b=2=3 ;"
    assert cookies.request_cookies(header) == ["a=1", "b=2=3"]


def test_response_cookies_for_console_names_or_nameless_are_dropped():
    answer = {"statusCode": 200, "cookies": [f"{n}=x; Path=/" for n in console_names()] + ["theme=dark", "=a=b"],
              "headers": {"Set-Cookie": f" {settings.SESSION_COOKIE_NAME} =y"}, "body": ""}
    response = responses.structured_response(answer)
    assert [c.output(header="") for c in response.cookies.values()] == ["theme=dark"]


def test_urls_handed_out_point_at_the_trigger_listener(settings):
    settings.LAMBDA_TRIGGER_URL = "http://127.0.0.1:8001"
    settings.LAMBDA_URL_DOMAIN_SET = False
    assert endpoints.function_url("a" * 32) == f"http://127.0.0.1:8001/lambda-url/{'a' * 32}/"
    assert endpoints.http_api_url("b" * 10) == f"http://127.0.0.1:8001/http-api/{'b' * 10}/"
    # With a domain the operator set (and its DNS), the host form, on the listener's port.
    settings.LAMBDA_URL_DOMAIN, settings.LAMBDA_URL_DOMAIN_SET = "fn.example", True
    assert endpoints.function_url("a" * 32) == f"http://{'a' * 32}.lambda-url.fn.example:8001/"
    settings.LAMBDA_TRIGGER_URL = "https://triggers.example"
    assert endpoints.function_url("a" * 32) == f"https://{'a' * 32}.lambda-url.fn.example/"


def _ws_connect(headers: list[tuple[bytes, bytes]]) -> tuple[bool, object]:
    from channels.testing import WebsocketCommunicator

    from console.asgi import application

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/functions/streamed/logs", headers=headers)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    # Its own loop in another thread, as tests/test_console_consumers.py does.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


@pytest.mark.django_db(transaction=True)
def test_websocket_accepts_only_the_consoles_own_origin(alice_client, alice_account):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="streamed")
    name = settings.SESSION_COOKIE_NAME
    cookie = (b"cookie", f"{name}={alice_client.cookies[name].value}".encode())
    host = (b"host", b"127.0.0.1:8000")
    assert _ws_connect([host, cookie, (b"origin", b"http://127.0.0.1:8000")])[0] is True
    # The trigger listener's page: same host, another port. Channels' own validator lets it through.
    for origin in (b"http://127.0.0.1:8001", b"https://127.0.0.1:8000", b"http://localhost:8000", b"null"):
        assert _ws_connect([host, cookie, (b"origin", origin)])[0] is False, origin
    assert _ws_connect([host, cookie])[0] is False  # no Origin at all
    assert _ws_connect([(b"host", b"evil.example:8000"), cookie, (b"origin", b"http://evil.example:8000")])[0] \
        is False


# --- through the real listeners -------------------------------------------------------------

@pytest.mark.integration
def test_console_origin_answers_404_for_triggers(live_server_url, trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    api = http_api_create(alice_account, "shop")
    http_route_create(api, "$default", fn)
    console_port = live_server_url.rsplit(":", 1)[1]
    on_console = [request("GET", f"{live_server_url}/lambda-url/{config.url_id}/x"),
                  request("POST", f"{live_server_url}/http-api/{api.api_id}/x", body=b"{}"),
                  request("GET", f"{live_server_url}/x", headers=[("Host", f"{config.hostname}:{console_port}")])]
    assert [r.status for r in on_console] == [404, 404, 404]
    assert all(not r.all("Set-Cookie") and b"hello" not in r.body for r in on_console)
    # The same requests on the trigger listener reach the function.
    trigger_port = trigger_url.rsplit(":", 1)[1]
    assert request("GET", f"{trigger_url}/lambda-url/{config.url_id}/x").status == 200
    assert request("POST", f"{trigger_url}/http-api/{api.api_id}/x", body=b"{}").status == 200
    assert request("GET", f"{trigger_url}/x", headers=[("Host", f"{config.hostname}:{trigger_port}")]).status == 200
    # The Lambda API stays on the console's origin.
    assert request("GET", f"{live_server_url}/2015-03-31/functions/").status == 403


@pytest.mark.integration
def test_trigger_origin_serves_nothing_of_the_console(trigger_url, alice_account):
    for path in ("/", "/login", "/health", "/security-credentials", "/2015-03-31/functions/", "/admin/",
                 "/static/console/css/console.css", "/lambda-url/short/"):
        got = request("GET", trigger_url + path)
        assert (path, got.status, got.body) == (path, 404, b"Not Found")
        assert not got.all("Set-Cookie")
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    # A Host the listener does not serve.
    assert request("GET", f"{trigger_url}/lambda-url/{config.url_id}/", headers=[("Host", "evil.example")]).status \
        == 400


@pytest.mark.integration
def test_event_holds_no_console_cookie(trigger_url, alice_account):
    fn = python_function(alice_account, AWS_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    api = http_api_create(alice_account, "shop")
    http_route_create(api, "$default", fn)
    sent = "; ".join(f"{n}=secret-{i}" for i, n in enumerate(console_names())) + "; theme=dark; cart=3"
    for url in (f"{trigger_url}/lambda-url/{config.url_id}/", f"{trigger_url}/http-api/{api.api_id}/"):
        event = request("GET", url, headers=[("Cookie", sent)]).event
        assert event["cookies"] == ["theme=dark", "cart=3"]
        assert "secret" not in json.dumps(event)


@pytest.mark.integration
def test_trigger_response_cannot_set_console_cookies(trigger_url, alice_account):
    fn = python_function(alice_account, SETTER)
    config = function_url_create(alice_account, fn, auth_type="NONE")
    got = request("GET", f"{trigger_url}/lambda-url/{config.url_id}/?set=" + ",".join(console_names() + ["lang"]))
    assert got.status == 200 and got.body == b"ok"
    assert got.all("Set-Cookie") == ["lang=from-function; Path=/", "theme=dark"]
