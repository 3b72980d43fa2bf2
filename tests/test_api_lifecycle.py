"""A function's whole life through the Lambda API, driven by boto3 and the AWS CLI as users do."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.urls import reverse

from console.models import Function, Invocation
from console.services.access_keys import access_key_create

from .api_helpers import LAMBDA_TRUST, create_hello, hello_zip
from .conftest import eventually

pytestmark = pytest.mark.integration



def _payload(response) -> dict:
    return json.loads(response["Payload"].read())


def test_function_life_cycle_with_boto3(alice_lambda, alice_client):
    client = alice_lambda
    created = create_hello(client, "api-life", Description="made by boto3", MemorySize=256, Timeout=5,
                      Environment={"Variables": {"GREETING": "hi"}}, Tags={"team": "a"},
                      EphemeralStorage={"Size": 1024})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Active" and created["Version"] == "$LATEST"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(hello_zip()).digest()).decode()
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    client.get_waiter("function_active_v2").wait(FunctionName="api-life", WaiterConfig={"Delay": 1})

    # Synchronous, with the log tail.
    result = client.invoke(FunctionName="api-life", Payload=b'{"n": 1}', LogType="Tail")
    assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in result
    assert _payload(result) == {"version": "v1", "event": {"n": 1}}
    tail = base64.b64decode(result["LogResult"]).decode()
    assert tail.lstrip().startswith("START RequestId:") and "hello from api-life" in tail
    assert "REPORT RequestId:" in tail

    # Asynchronous and dry run.
    event = client.invoke(FunctionName="api-life", InvocationType="Event", Payload=b'{"async": true}')
    assert event["StatusCode"] == 202
    assert client.invoke(FunctionName="api-life", InvocationType="DryRun")["StatusCode"] == 204
    function = Function.objects.get(name="api-life")
    eventually(lambda: Invocation.objects.get(function=function, invocation_type="Event",
                                              status=Invocation.Status.SUCCEEDED), timeout=30)

    # Code and configuration updates, seen by the waiter and the next call.
    updated = client.update_function_code(FunctionName="api-life", ZipFile=hello_zip("v2"))
    assert updated["LastUpdateStatus"] == "Successful" and updated["RevisionId"] != created["RevisionId"]
    client.get_waiter("function_updated_v2").wait(FunctionName="api-life", WaiterConfig={"Delay": 1})
    assert _payload(client.invoke(FunctionName="api-life"))["version"] == "v2"
    client.update_function_configuration(FunctionName="api-life", MemorySize=512, Description="bigger")
    client.get_waiter("function_updated_v2").wait(FunctionName="api-life", WaiterConfig={"Delay": 1})
    configuration = client.get_function_configuration(FunctionName="api-life")
    assert (configuration["MemorySize"], configuration["Description"]) == (512, "bigger")

    # GetFunction's Code.Location downloads the zip, without signing.
    got = client.get_function(FunctionName="api-life")
    with urllib.request.urlopen(got["Code"]["Location"]) as download:
        assert download.read() == hello_zip("v2")
    assert got["Tags"] == {"team": "a"}

    # Versions and a weighted alias.
    v1 = client.publish_version(FunctionName="api-life", Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(":api-life:1")
    client.update_function_code(FunctionName="api-life", ZipFile=hello_zip("v3"), Publish=True)
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName="api-life")["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    alias = client.create_alias(FunctionName="api-life", Name="live", FunctionVersion="1",
                                RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert alias["AliasArn"].endswith(":api-life:live")
    seen = {client.invoke(FunctionName="api-life", Qualifier="live")["ExecutedVersion"] for _ in range(24)}
    assert seen == {"1", "2"}
    client.update_alias(FunctionName="api-life", Name="live", FunctionVersion="2", RoutingConfig={})
    assert client.get_alias(FunctionName="api-life", Name="live")["FunctionVersion"] == "2"
    arn_call = client.invoke(FunctionName=f"{created['FunctionArn']}:live")
    assert arn_call["ExecutedVersion"] == "2" and _payload(arn_call)["version"] == "v3"
    assert [a["Name"] for a in client.list_aliases(FunctionName="api-life")["Aliases"]] == ["live"]

    # Reserved concurrency 0 throttles.
    client.put_function_concurrency(FunctionName="api-life", ReservedConcurrentExecutions=0)
    assert client.get_function_concurrency(FunctionName="api-life")["ReservedConcurrentExecutions"] == 0
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="api-life")
    assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    client.delete_function_concurrency(FunctionName="api-life")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="api-life")
    assert client.invoke(FunctionName="api-life")["StatusCode"] == 200

    # Tags.
    client.tag_resource(Resource=created["FunctionArn"], Tags={"env": "test"})
    assert client.list_tags(Resource=created["FunctionArn"])["Tags"] == {"team": "a", "env": "test"}
    client.untag_resource(Resource=created["FunctionArn"], TagKeys=["team"])
    assert client.list_tags(Resource=created["FunctionArn"])["Tags"] == {"env": "test"}

    # Paging through ListFunctions.
    for i in range(4):
        create_hello(client, f"api-page-{i}")
    pages = list(client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3 and all(len(p["Functions"]) <= 2 for p in pages)
    names = [f["FunctionName"] for p in pages for f in p["Functions"]]
    assert names == ["api-life"] + [f"api-page-{i}" for i in range(4)]
    first = client.list_functions(MaxItems=1)
    assert len(first["Functions"]) == 1 and first["NextMarker"]
    settings = client.get_account_settings()
    assert settings["AccountUsage"]["FunctionCount"] == 5

    # The console shows what the API made and ran: the list and the Monitor tab's data.
    assert b"api-life" in alice_client.get(reverse("functions")).content
    eventually(lambda: Invocation.objects.filter(function=function, source="api",
                                                 status=Invocation.Status.SUCCEEDED).count() >= 5 or None)
    metrics = alice_client.get(reverse("function-metrics", args=["api-life"])).json()
    assert metrics["totals"]["invocations"] >= 5

    # Deleting a version (not while an alias uses it), then the function.
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.delete_function(FunctionName="api-life", Qualifier="2")
    client.delete_alias(FunctionName="api-life", Name="live")
    client.delete_function(FunctionName="api-life", Qualifier="2")
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName="api-life")["Versions"]]
    assert versions == ["$LATEST", "1"]
    client.delete_function(FunctionName="api-life")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="api-life")


def test_another_accounts_keys_find_nothing(alice_lambda, charlie_lambda):
    arn = create_hello(alice_lambda, "alices")["FunctionArn"]
    # By name, charlie names a function of his own account, which does not exist.
    for call in (lambda: charlie_lambda.get_function(FunctionName="alices"),
                 lambda: charlie_lambda.delete_function(FunctionName="alices"),
                 lambda: charlie_lambda.update_function_code(FunctionName="alices", ZipFile=hello_zip("x")),
                 lambda: charlie_lambda.list_tags(Resource=arn)):
        with pytest.raises(charlie_lambda.exceptions.ResourceNotFoundException):
            call()
    # By ARN, alice's function: refused as AWS refuses it, unless her function's resource-based
    # policy allows charlie (tests/test_authz.py).
    for call in (lambda: charlie_lambda.get_function(FunctionName=arn),
                 lambda: charlie_lambda.invoke(FunctionName=arn),
                 lambda: charlie_lambda.delete_function(FunctionName=arn)):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert charlie_lambda.list_functions()["Functions"] == []
    assert alice_lambda.get_function(FunctionName="alices")["Configuration"]["CodeSha256"]


def test_aws_cli_creates_invokes_and_lists(live_server_url, alice, tmp_path: Path):
    key, secret = access_key_create(alice)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_MAX_ATTEMPTS": "1"}
    aws = [str(Path(sys.executable).parent / "aws"), "lambda", "--endpoint-url", live_server_url]

    def run(*args: str, service: str = "lambda") -> str:
        command = [*aws, *args] if service == "lambda" else [aws[0], service, *aws[2:], *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    role = json.loads(run("create-role", "--role-name", "cli-role", "--assume-role-policy-document", LAMBDA_TRUST,
                          service="iam"))["Role"]["Arn"]
    (tmp_path / "code.zip").write_bytes(hello_zip("cli"))
    created = json.loads(run("create-function", "--function-name", "from-cli", "--runtime", "python3.11",
                             "--role", role, "--handler", "lambda_function.lambda_handler",
                             "--zip-file", f"fileb://{tmp_path / 'code.zip'}"))
    assert created["FunctionName"] == "from-cli" and created["State"] == "Active" and created["Role"] == role
    (tmp_path / "event.json").write_text('{"from": "cli"}')
    meta = json.loads(run("invoke", "--function-name", "from-cli", "--payload", f"fileb://{tmp_path / 'event.json'}",
                          "--log-type", "Tail", str(tmp_path / "out.json")))
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert "REPORT RequestId" in base64.b64decode(meta["LogResult"]).decode()
    assert json.loads((tmp_path / "out.json").read_text()) == {"version": "cli", "event": {"from": "cli"}}
    listed = json.loads(run("list-functions"))
    assert [f["FunctionName"] for f in listed["Functions"]] == ["from-cli"]
    function = Function.objects.get(name="from-cli")
    eventually(lambda: Invocation.objects.get(function=function, source="api"))
