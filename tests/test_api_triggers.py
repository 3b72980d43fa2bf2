"""Function URL and asynchronous invocation configuration operations through boto3 and the live server."""
from __future__ import annotations

import urllib.request

import pytest
from botocore.exceptions import ClientError

from console.services.access_keys import access_key_create

from .api_helpers import create_hello, error_of, signed_request

pytestmark = pytest.mark.integration



def _error(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_function_url_config_life_cycle(alice_lambda, charlie_lambda, trigger_url):
    client = alice_lambda
    create_hello(client, "url-fn")
    with pytest.raises(ClientError) as missing:
        client.get_function_url_config(FunctionName="url-fn")
    assert _error(missing) == "ResourceNotFoundException"

    created = client.create_function_url_config(
        FunctionName="url-fn", AuthType="NONE",
        Cors={"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET"], "MaxAge": 60})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    # On the trigger listener, never on the API's (the console's) origin.
    assert created["FunctionUrl"].startswith(trigger_url + "/lambda-url/")
    assert created["FunctionArn"].endswith(":function:url-fn") and created["AuthType"] == "NONE"
    assert created["Cors"] == {"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET"], "MaxAge": 60}
    assert created["InvokeMode"] == "BUFFERED" and created["CreationTime"]

    with pytest.raises(ClientError) as twice:
        client.create_function_url_config(FunctionName="url-fn", AuthType="NONE")
    assert _error(twice) == "ResourceConflictException"

    got = client.get_function_url_config(FunctionName="url-fn")
    assert got["FunctionUrl"] == created["FunctionUrl"] and got["LastModifiedTime"]
    with urllib.request.urlopen(got["FunctionUrl"] + "hello?x=1", timeout=60) as response:
        assert response.status == 200 and b'"version": "v1"' in response.read()

    updated = client.update_function_url_config(FunctionName="url-fn", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["Cors"]["MaxAge"] == 60  # the rest is kept
    updated = client.update_function_url_config(FunctionName="url-fn", Cors={})
    assert "Cors" not in updated or updated["Cors"] == {}

    listed = client.list_function_url_configs(FunctionName="url-fn")["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [created["FunctionUrl"]]

    with pytest.raises(ClientError) as bad:
        client.update_function_url_config(FunctionName="url-fn", AuthType="PASSWORD")
    assert _error(bad) == "InvalidParameterValueException"

    # By name, another account's function does not exist for charlie; by ARN, it is refused.
    for call in (lambda: charlie_lambda.get_function_url_config(FunctionName="url-fn"),
                 lambda: charlie_lambda.delete_function_url_config(FunctionName="url-fn")):
        with pytest.raises(ClientError) as outsider:
            call()
        assert _error(outsider) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as outsider:
        charlie_lambda.get_function_url_config(FunctionName=created["FunctionArn"])
    assert _error(outsider) == "AccessDeniedException"

    assert client.delete_function_url_config(FunctionName="url-fn")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        client.delete_function_url_config(FunctionName="url-fn")
    assert _error(gone) == "ResourceNotFoundException"
    assert client.list_function_url_configs(FunctionName="url-fn")["FunctionUrlConfigs"] == []


def test_event_invoke_config_life_cycle(alice_lambda, charlie_lambda, alice, live_server_url):
    client = alice_lambda
    create_hello(client, "async-fn")
    target = create_hello(client, "async-target")["FunctionArn"]
    outsider = create_hello(charlie_lambda, "charlies-fn")["FunctionArn"]

    with pytest.raises(ClientError) as missing:
        client.get_function_event_invoke_config(FunctionName="async-fn")
    assert _error(missing) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as missing_update:
        client.update_function_event_invoke_config(FunctionName="async-fn", MaximumRetryAttempts=1)
    assert _error(missing_update) == "ResourceNotFoundException"

    put = client.put_function_event_invoke_config(
        FunctionName="async-fn", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=300,
        DestinationConfig={"OnFailure": {"Destination": target}})
    assert put["FunctionArn"].endswith(":function:async-fn:$LATEST")
    assert put["MaximumRetryAttempts"] == 1 and put["MaximumEventAgeInSeconds"] == 300
    assert put["DestinationConfig"] == {"OnFailure": {"Destination": target}}
    assert put["LastModified"].year >= 2024

    updated = client.update_function_event_invoke_config(
        FunctionName="async-fn", DestinationConfig={"OnSuccess": {"Destination": target}})
    assert updated["MaximumRetryAttempts"] == 1
    assert updated["DestinationConfig"] == {"OnSuccess": {"Destination": target},
                                            "OnFailure": {"Destination": target}}

    # Put replaces the whole configuration.
    replaced = client.put_function_event_invoke_config(FunctionName="async-fn", MaximumRetryAttempts=0)
    assert replaced["MaximumRetryAttempts"] == 0 and replaced["MaximumEventAgeInSeconds"] == 21600
    assert replaced["DestinationConfig"] == {}

    got = client.get_function_event_invoke_config(FunctionName="async-fn")
    assert got["MaximumRetryAttempts"] == 0
    listed = client.list_function_event_invoke_configs(FunctionName="async-fn")["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [put["FunctionArn"]]

    with pytest.raises(ClientError) as foreign:
        client.put_function_event_invoke_config(FunctionName="async-fn",
                                                DestinationConfig={"OnFailure": {"Destination": outsider}})
    assert _error(foreign) == "InvalidParameterValueException"
    # boto3 checks ranges itself; a raw signed request shows the server's own check.
    key, secret = access_key_create(alice)
    status, code, body = error_of(signed_request(
        live_server_url, "PUT", "/2019-09-25/functions/async-fn/event-invoke-config", key.access_key_id, secret,
        body=b'{"MaximumEventAgeInSeconds": 59}'))
    assert (status, code) == (400, "InvalidParameterValueException") and "MaximumEventAgeInSeconds" in body["message"]
    with pytest.raises(ClientError) as no_alias:
        client.get_function_event_invoke_config(FunctionName="async-fn", Qualifier="no-such-alias")
    assert _error(no_alias) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as outsider_call:
        charlie_lambda.get_function_event_invoke_config(FunctionName="async-fn")
    assert _error(outsider_call) == "ResourceNotFoundException"

    client.delete_function_event_invoke_config(FunctionName="async-fn")
    assert client.list_function_event_invoke_configs(FunctionName="async-fn")["FunctionEventInvokeConfigs"] == []
    with pytest.raises(ClientError) as gone:
        client.delete_function_event_invoke_config(FunctionName="async-fn")
    assert _error(gone) == "ResourceNotFoundException"
