"""Bad input to the Lambda API: each answered with AWS's error, raised by botocore under its name,
and nothing changed."""
from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from console.models import Alias, Function, Version
from console.services.access_keys import access_key_create

from .api_helpers import error_of, hello_zip, lambda_client, lambda_role, signed_request

ROLE = "arn:aws:iam::111111111111:role/lambda-test"  # alice's, made by the `existing` fixture


@pytest.fixture
def server(live_server_process, transactional_db):
    return live_server_process.url


@pytest.fixture
def key(server, alice):
    key, secret = access_key_create(alice)
    return key.access_key_id, secret


@pytest.fixture
def client(server, key):
    # Parameter validation off: these calls must reach the server, as they would from any SDK.
    return lambda_client(server, *key, parameter_validation=False)


@pytest.fixture
def existing(client):
    assert lambda_role(client) == ROLE
    client.create_function(FunctionName="kept", Runtime="python3.11", Role=ROLE,
                           Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    return Function.objects.get(name="kept")


def _state() -> tuple:
    return (sorted(Function.objects.values_list("name", "revision_id", "memory_size", "code_sha256")),
            Version.objects.count(), Alias.objects.count())


def _create_body(**overrides) -> bytes:
    body = {"FunctionName": "made", "Runtime": "python3.11", "Role": ROLE,
            "Handler": "lambda_function.lambda_handler",
            "Code": {"ZipFile": base64.b64encode(hello_zip()).decode()}}
    body.update(overrides)
    return json.dumps(body).encode()


def _raw(server, key, method, path, body=b""):
    return error_of(signed_request(server, method, path, *key, body=body,
                                   headers={"Content-Type": "application/json"}))


def test_malformed_json_body_is_invalid_request_content(server, key, existing):
    before = _state()
    status, code, body = _raw(server, key, "POST", "/2015-03-31/functions", b'{"FunctionName": "made",')
    assert (status, code, body["Type"]) == (400, "InvalidRequestContentException", "User")
    assert body["message"].startswith("Could not parse request body into json")
    status, code, _ = _raw(server, key, "PUT", "/2015-03-31/functions/kept/configuration", b"[1, 2")
    assert (status, code) == (400, "InvalidRequestContentException")
    assert _state() == before


def test_unknown_field_is_refused(server, key, existing):
    before = _state()
    status, code, body = _raw(server, key, "POST", "/2015-03-31/functions", _create_body(Colour="blue"))
    assert (status, code) == (400, "InvalidRequestContentException") and "Colour" in body["message"]
    status, code, _ = _raw(server, key, "PUT", "/2015-03-31/functions/kept/configuration",
                           json.dumps({"MemorySize": 256, "Turbo": True}).encode())
    assert (status, code) == (400, "InvalidRequestContentException")
    assert _state() == before


def test_zip_that_is_not_base64_is_refused(server, key, existing):
    before = _state()
    status, code, _ = _raw(server, key, "POST", "/2015-03-31/functions",
                           _create_body(Code={"ZipFile": "this is not base64!"}))
    assert (status, code) == (400, "InvalidRequestContentException")
    assert _state() == before


@pytest.mark.parametrize("name", ["x" * 65, "bad name", "bad/name", "na.me", "émile"])
def test_bad_function_names_are_invalid_parameter_values(client, existing, name):
    before = _state()
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE,
                               Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert _state() == before


def test_zip_that_is_not_a_zip_is_invalid_parameter_value(client, existing):
    before = _state()
    with pytest.raises(client.exceptions.InvalidParameterValueException) as caught:
        client.create_function(FunctionName="made", Runtime="python3.11", Role=ROLE,
                               Handler="lambda_function.lambda_handler", Code={"ZipFile": b"PK not really"})
    assert "unzip" in caught.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_function_code(FunctionName="kept", ZipFile=b"nope")
    assert _state() == before


@pytest.mark.parametrize("memory", [-128, 0, 64, 20000, "lots", 256.5])
def test_bad_memory_size_is_invalid_parameter_value(client, existing, memory):
    before = _state()
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_function_configuration(FunctionName="kept", MemorySize=memory)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_function(FunctionName="made", Runtime="python3.11", Role=ROLE, MemorySize=memory,
                               Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert _state() == before


def test_qualifier_that_does_not_exist_is_resource_not_found(client, existing):
    before = _state()
    for call in (lambda: client.invoke(FunctionName="kept", Qualifier="7"),
                 lambda: client.invoke(FunctionName="kept", Qualifier="nosuchalias"),
                 lambda: client.get_function(FunctionName="kept", Qualifier="3"),
                 lambda: client.delete_function(FunctionName="kept", Qualifier="9"),
                 lambda: client.get_alias(FunctionName="kept", Name="nosuchalias")):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            call()
    assert _state() == before


def test_path_tricks_in_the_function_name_find_nothing(server, key, client, existing):
    before = _state()
    for name in ("../kept", "..", "kept/../kept", "a/b"):
        with pytest.raises(client.exceptions.InvalidParameterValueException):
            client.delete_function(FunctionName=name)
    for path in ("/2015-03-31/functions/kept%2F..%2Fkept", "/2015-03-31/functions/..%2Fkept/configuration",
                 "/2015-03-31/functions/%2E%2E"):
        status, code, _ = _raw(server, key, "DELETE", path)
        assert (status, code) == (400, "InvalidParameterValueException"), path
    assert _state() == before


def test_missing_function_and_duplicate_name(client, existing):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_configuration(FunctionName="nosuch")
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.create_function(FunctionName="kept", Runtime="python3.11", Role=ROLE,
                               Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})


def test_invoke_payload_that_is_not_json_is_invalid_request_content(client, existing):
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="kept", Payload=b"{not json")


def test_payloads_over_the_limits_are_request_too_large(client, existing):
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    with pytest.raises(client.exceptions.RequestTooLargeException) as caught:
        client.invoke(FunctionName="kept", Payload=big)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="kept", InvocationType="Event", Payload=b'"' + b"x" * (256 * 1024) + b'"')


def test_stale_revision_id_is_precondition_failed(client, existing):
    before = _state()
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_function_configuration(FunctionName="kept", MemorySize=256,
                                             RevisionId="00000000-0000-0000-0000-000000000000")
    assert _state() == before


def test_unexpected_failure_is_a_service_exception_without_a_trace(rf, alice_account, monkeypatch, caplog):
    from console.api import base
    from console.sigv4 import Caller

    def broken(request, account):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(base, "authenticate", lambda request: Caller(alice_account))
    response = base._call(rf.get("/2016-08-19/account-settings"), broken, {})
    assert response.status_code == 500 and response["x-amzn-ErrorType"] == "ServiceException"
    body = json.loads(response.content)
    assert body["Type"] == "Service" and "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "secret internals" in caplog.text  # the cause stays in the server's log


def test_code_storage_exceeded(alice_account, monkeypatch):
    from console.errors import CodeStorageExceeded
    from console.services import functions as service

    monkeypatch.setattr(service, "CODE_STORAGE_LIMIT", 10)
    with pytest.raises(CodeStorageExceeded):
        service.function_create(alice_account, "big", runtime="python3.11", zip_file=hello_zip())
    assert not Function.objects.filter(name="big").exists()


# AWS's "Common Errors" page: a request for an operation the service does not know is
# UnknownOperationException, HTTP 404. The answer names what was asked for, never "function not found".
def test_operations_not_served_are_unknown_operations_that_name_them(server, key, client, existing):
    before = _state()
    with pytest.raises(ClientError) as caught:
        client.get_function_code_signing_config(FunctionName="kept")
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (404, "UnknownOperationException")
    assert "GetFunctionCodeSigningConfig" in error["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        client.list_event_source_mappings()
    assert "ListEventSourceMappings" in caught.value.response["Error"]["Message"]
    for method, path in (("POST", "/2021-10-31/functions/kept/whatever"), ("GET", "/2015-03-31/nothing-here"),
                         ("PATCH", "/2015-03-31/functions/kept"), ("POST", "/2015-03-31/functions/kept")):
        status, code, body = _raw(server, key, method, path, b"{}")
        assert (status, code) == (404, "UnknownOperationException"), (method, path)
        assert f"{method} {path}" in body["message"] and "not found" not in body["message"]
    assert _state() == before
