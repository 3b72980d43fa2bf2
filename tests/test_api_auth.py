"""SigV4 access keys: the Security credentials page, the command, and each 403 of the API."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import urllib.error
import urllib.request

import botocore
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.urls import reverse

from console.models import AccessKey
from console.services.access_keys import access_key_create

from .api_helpers import REGION, create_hello, hello_zip, lambda_client


@pytest.fixture
def alice_key(alice):
    key, secret = access_key_create(alice)
    return key.access_key_id, secret


@pytest.fixture
def server(live_server_process, transactional_db):
    return live_server_process.url


def test_secret_is_encrypted_at_rest(alice):
    from django.db import connection

    key, secret = access_key_create(alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM console_accesskey WHERE id = %s", [key.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("fernet:")
    assert AccessKey.objects.get(pk=key.pk).secret == secret
    assert key.access_key_id.startswith("AKIA") and len(key.access_key_id) == 20


def test_create_access_key_command_makes_user_account_and_key(db):
    out = io.StringIO()
    call_command("create_access_key", "scripter", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("AWS_ACCESS_KEY_ID=AKIA")
    secret = lines[1].removeprefix("AWS_SECRET_ACCESS_KEY=")
    key = AccessKey.objects.get(access_key_id=lines[0].split("=", 1)[1])
    assert key.secret == secret and key.user.username == "scripter"
    assert key.user.membership.account.account_id


def test_security_credentials_page_creates_shows_secret_once_deactivates_and_deletes(alice_client, alice):
    page = alice_client.get(reverse("credentials"))
    assert page.status_code == 200 and b"Create access key" in page.content
    created = alice_client.post(reverse("access-key-create"))
    key = AccessKey.objects.get(user=alice)
    assert key.secret.encode() in created.content
    assert key.secret.encode() not in alice_client.get(reverse("credentials")).content
    alice_client.post(reverse("access-key-update", args=[key.access_key_id]), {"active": "false"})
    key.refresh_from_db()
    assert not key.active
    alice_client.post(reverse("access-key-delete", args=[key.access_key_id]))
    assert not AccessKey.objects.filter(pk=key.pk).exists()


def test_charlie_cannot_touch_alices_keys(alice, charlie_client):
    key, _ = access_key_create(alice)
    assert charlie_client.post(reverse("access-key-delete", args=[key.access_key_id])).status_code == 404
    assert charlie_client.post(reverse("access-key-update", args=[key.access_key_id]),
                               {"active": "false"}).status_code == 404
    key.refresh_from_db()
    assert key.active


def _code(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


def test_a_signed_request_with_a_valid_key_works(server, alice_key):
    assert lambda_client(server, *alice_key).list_functions()["Functions"] == []


def test_unknown_key_is_unrecognized_client(server, alice_key):
    client = lambda_client(server, "AKIAUNKNOWNUNKNOWN00", alice_key[1])
    assert _code(client.list_functions) == (403, "UnrecognizedClientException",
                                            "The security token included in the request is invalid.")


def test_wrong_secret_is_invalid_signature(server, alice_key):
    client = lambda_client(server, alice_key[0], "not-the-secret")
    status, code, message = _code(client.list_functions)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "signature we calculated does not match" in message


def test_request_dated_more_than_five_minutes_off_has_expired(server, alice_key, monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=6))
    status, code, message = _code(lambda_client(server, *alice_key).list_functions)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("Signature expired:")


def test_unsigned_request_is_missing_authentication_token(server):
    client = lambda_client(server, "x", "y", signature_version=botocore.UNSIGNED)
    assert _code(client.list_functions)[:2] == (403, "MissingAuthenticationTokenException")


def test_deactivated_key_is_refused(server, alice_key):
    AccessKey.objects.filter(access_key_id=alice_key[0]).update(active=False)
    assert _code(lambda_client(server, *alice_key).list_functions)[1] == "UnrecognizedClientException"


def test_deactivating_a_key_takes_effect_at_once_in_this_process(alice):
    from console.services.access_keys import access_key_create, access_key_for_signature, access_key_set_active

    key, _secret = access_key_create(alice)
    assert access_key_for_signature(key.access_key_id) is not None  # now cached
    access_key_set_active(key, False)
    assert access_key_for_signature(key.access_key_id) is None


def _signed(server: str, key: tuple[str, str], method: str, path: str, body: bytes,
            content_sha256: str) -> dict[str, str]:
    """The headers of a request signed by botocore's signer with x-amz-content-sha256 among the signed ones."""
    request = AWSRequest(method=method, url=server + path, data=body,
                         headers={"Content-Type": "application/json", "x-amz-content-sha256": content_sha256})
    botocore.auth.SigV4Auth(Credentials(*key), "lambda", REGION).add_auth(request)
    assert "x-amz-content-sha256" in request.headers["Authorization"]
    return dict(request.prepare().headers)


def _send(server: str, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict]:
    raw = urllib.request.Request(server + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(raw, timeout=60) as response:
            return response.status, "", json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", ""), json.loads(error.read() or b"{}")


# The signature covers x-amz-content-sha256, not the body: the server must check that the body is
# the one hashed. AWS answers a mismatch as a signature that does not hold (S3's wording, "The
# provided 'x-amz-content-sha256' header does not match what was computed."; Lambda's restJson
# code for it is InvalidSignatureException, 403, IAM's "Troubleshoot Signature Version 4 signing").
def test_replayed_update_function_code_with_another_body_is_refused(server, alice_key):
    client = lambda_client(server, *alice_key)
    create_hello(client, "replayed")
    path = "/2015-03-31/functions/replayed/code"
    body = json.dumps({"ZipFile": base64.b64encode(hello_zip("v2")).decode()}).encode()
    captured = _signed(server, alice_key, "PUT", path, body, hashlib.sha256(body).hexdigest())
    status, _, config = _send(server, "PUT", path, captured, body)
    assert status == 200
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(hello_zip("v2")).digest()).decode()

    swapped = json.dumps({"ZipFile": base64.b64encode(hello_zip("evil")).decode()}).encode()
    status, code, error = _send(server, "PUT", path, captured, swapped)
    assert (status, code) == (403, "InvalidSignatureException")
    assert error["message"] == "The provided 'x-amz-content-sha256' header does not match what was computed."
    assert client.get_function(FunctionName="replayed")["Configuration"]["CodeSha256"] == config["CodeSha256"]
    # The same request again, body and all, is still a valid request within the clock skew.
    assert _send(server, "PUT", path, captured, body)[0] == 200


def test_streaming_payloads_are_refused_and_unsigned_payload_is_allowed(server, alice_key):
    client = lambda_client(server, *alice_key)
    create_hello(client, "streamed")
    path = "/2015-03-31/functions/streamed/configuration"
    body = json.dumps({"Description": "changed"}).encode()
    streaming = _signed(server, alice_key, "PUT", path, body, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    status, code, error = _send(server, "PUT", path, streaming, body)
    assert (status, code) == (403, "InvalidSignatureException") and "aws-chunked" in error["message"]
    assert client.get_function_configuration(FunctionName="streamed")["Description"] == ""
    unsigned = _signed(server, alice_key, "PUT", path, body, "UNSIGNED-PAYLOAD")
    assert _send(server, "PUT", path, unsigned, body)[0] == 200
    assert client.get_function_configuration(FunctionName="streamed")["Description"] == "changed"
