"""Functions call AWS with their execution role's credentials, through the real stack: a worker
running containers, the AWS endpoint on the functions' network (Daphne, endpoint_application),
and boto3 inside the function, unchanged, as on AWS.

AWS pages followed: "Lambda execution role" (a function's code gets temporary credentials of
its role), "Using Lambda environment variables" (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN), and the SDKs' "Service-specific endpoints" (AWS_ENDPOINT_URL).
"""
from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from console.codestore import make_zip
from console.iam.models import Role, RolePolicy
from console.models import Account
from console.services.functions import function_create
from console.sts import sessions
from executor import images
from executor.invoke import invoke

from .conftest import node_function, python_function

pytestmark = pytest.mark.integration

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# The handler AWS's documentation shows: a client made at import time, used by every invocation.
CALLER = """
import json, os, uuid
import boto3

lambda_client = boto3.client("lambda")
ENVIRONMENT = uuid.uuid4().hex  # one per execution environment

def lambda_handler(event, context):
    answer = lambda_client.invoke(FunctionName=event["target"], Payload=json.dumps({"from": context.function_name}))
    signing = lambda_client._request_signer._credentials.get_frozen_credentials()
    return {
        "environment": ENVIRONMENT,
        "status": answer["StatusCode"],
        "answer": json.loads(answer["Payload"].read()),
        "key": os.environ["AWS_ACCESS_KEY_ID"],
        "token": os.environ["AWS_SESSION_TOKEN"],
        "expiration": os.environ["AWS_CREDENTIAL_EXPIRATION"],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "signed_with": signing.access_key,
    }
"""
CALLEE = "def lambda_handler(event, context):\n    return {'hello': event}\n"


@pytest.fixture(scope="module", autouse=True)
def current_images():
    """The runtime images of this checkout (boto3 in python3.11, the renewal header in our bootstraps):
    a no-op when they are up to date, as `make run` and `make test` build them."""
    images.build_all(only="python3.11")
    images.build_all(only="nodejs18.x")


@pytest.fixture
def account(transactional_db) -> Account:
    """An account of its own per test: the SigV4 check keeps accounts by id in the endpoint's
    process, which outlives the test database's rows (alice's account is made again each test)."""
    return Account.objects.create(account_id=str(random.randrange(10**11, 10**12)), name="owner")


INVOKE_ANY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]})


def lambda_role(account, name: str = "fn-role", policy: str | None = INVOKE_ANY) -> Role:
    """A role that trusts Lambda and, by default, may invoke the account's functions."""
    role = Role.objects.create(account=account, name=name, path="/service-role/", assume_role_policy=LAMBDA_TRUST)
    if policy:
        RolePolicy.objects.create(role=role, name="invoke", document=policy)
    return role


def with_role(function, role: Role):
    function.role = role.arn
    function.save(update_fields=["role"])
    return function


def run(function, event: dict) -> dict:
    result = invoke(function, json.dumps(event))
    assert result.function_error is None, result.payload
    return json.loads(result.payload)


def test_boto3_in_a_function_calls_lambda_as_its_role(live_server_process, worker, account):
    role = lambda_role(account)
    callee = python_function(account, CALLEE)
    caller = with_role(python_function(account, CALLER, timeout=10), role)
    out = run(caller, {"target": callee.name})
    assert out["status"] == 200 and out["answer"] == {"hello": {"from": caller.name}}
    assert out["endpoint"] == live_server_process.endpoint_url
    session = sessions.open_token(out["token"], out["key"])
    assert session.assumed_role_arn == f"arn:aws:sts::{account.account_id}:assumed-role/fn-role/{caller.name}"
    assert out["signed_with"] == out["key"]


def test_a_function_may_call_only_what_its_role_allows(live_server_process, worker, account):
    callee = python_function(account, CALLEE)
    caller = with_role(python_function(account, CALLER, timeout=10), lambda_role(account, "bare-role", policy=None))
    result = invoke(caller, json.dumps({"target": callee.name}))
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled" and "AccessDeniedException" in error["errorMessage"]
    assert f"assumed-role/bare-role/{caller.name} is not authorized to perform: lambda:InvokeFunction" \
        in error["errorMessage"]


def test_get_caller_identity_names_the_assumed_role_and_the_function(live_server_process, worker, account):
    role = lambda_role(account, "who-role")
    fn = with_role(python_function(account, """
import boto3
def lambda_handler(event, context):
    identity = boto3.client("sts").get_caller_identity()
    return {"Arn": identity["Arn"], "Account": identity["Account"]}
""", timeout=10), role)
    assert run(fn, {}) == {"Arn": f"arn:aws:sts::{account.account_id}:assumed-role/who-role/{fn.name}",
                           "Account": account.account_id}


def test_a_function_reads_its_own_configuration_through_the_endpoint(live_server_process, worker, account):
    """GetFunction builds an absolute URL (the code's Location) from the Host the function sent:
    the endpoint's own address must be one Django accepts."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}]})
    fn = with_role(python_function(account, """
import boto3
def lambda_handler(event, context):
    answer = boto3.client("lambda").get_function(FunctionName=context.function_name)
    return {"Role": answer["Configuration"]["Role"], "Location": answer["Code"]["Location"]}
""", timeout=10), lambda_role(account, "reader-role", policy=policy))
    out = run(fn, {})
    assert out["Role"] == fn.role
    assert out["Location"].startswith(live_server_process.endpoint_url + "/")


def test_a_function_without_a_role_has_the_endpoint_and_no_credentials(worker, account):
    fn = python_function(account, """
import os
def lambda_handler(event, context):
    return {k: v for k, v in os.environ.items() if k.startswith("AWS_") and "LAMBDA" not in k}
""")
    fn.role = ""
    fn.save(update_fields=["role"])
    out = run(fn, {})
    assert "AWS_ACCESS_KEY_ID" not in out and "AWS_SESSION_TOKEN" not in out and "AWS_SECRET_ACCESS_KEY" not in out
    assert out["AWS_ENDPOINT_URL"].endswith(f":{settings.LAMBDA_ENDPOINT_PORT}")


def test_the_credentials_are_in_no_log(live_server_process, worker, account):
    role = lambda_role(account, "quiet-role")
    fn = with_role(python_function(account, """
import os
def lambda_handler(event, context):
    return {"secret": os.environ["AWS_SECRET_ACCESS_KEY"], "token": os.environ["AWS_SESSION_TOKEN"]}
"""), role)
    out = run(fn, {})
    logs = Path(settings.VAR_DIR) / "worker.log"
    text = logs.read_text(errors="replace")
    assert out["secret"] not in text and out["token"] not in text
    assert out["secret"] not in live_server_process.log_path.read_text(errors="replace")


def test_credentials_are_renewed_in_a_long_lived_environment(live_server_process, worker, account):
    # A 10 s TTL (the function's timeout plus 20 s at least: 23 s): new credentials come with the
    # first invocation after half of that, and the import-time client signs with them.
    worker.restart(LAMBDA_CREDENTIALS_TTL="10")
    role = lambda_role(account, "renewed-role")
    callee = python_function(account, CALLEE)
    caller = with_role(python_function(account, CALLER, timeout=3), role)
    node = with_role(node_function(account, {"index.mjs": """
const started = Math.random();
export const handler = async () => ({key: process.env.AWS_ACCESS_KEY_ID, token: process.env.AWS_SESSION_TOKEN,
                                     expiration: process.env.AWS_CREDENTIAL_EXPIRATION, environment: started});
"""}, timeout=3), role)

    first, node_first = run(caller, {"target": callee.name}), run(node, {})
    time.sleep(11)
    second, node_second = run(caller, {"target": callee.name}), run(node, {})
    assert second["environment"] == first["environment"] and node_second["environment"] == node_first["environment"]
    assert second["key"] != first["key"] and second["expiration"] > first["expiration"]
    assert second["signed_with"] == second["key"]  # the client made at import time took them
    assert node_second["key"] != node_first["key"] and node_second["expiration"] > node_first["expiration"]
    for out in (second, node_second):
        assert sessions.open_token(out["token"], out["key"]).role_arn == role.arn

    time.sleep(13)  # the first credentials have expired: the API refuses them
    client = boto3.client("lambda", endpoint_url=live_server_process.url, region_name="us-east-1",
                          aws_access_key_id=first["key"], aws_secret_access_key="x", aws_session_token=first["token"],
                          config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as refused:
        client.list_functions()
    assert refused.value.response["Error"]["Code"] == "ExpiredTokenException"
    third = run(caller, {"target": callee.name})  # the same environment, still calling
    assert third["environment"] == first["environment"] and third["answer"] == {"hello": {"from": caller.name}}


PROVIDED = """#!/bin/sh
set -eu
STARTED=$(cat /proc/sys/kernel/random/uuid)
while true; do
  HEADERS=$(mktemp)
  curl -sS -o /dev/null -D "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$ID/response" \\
       -d "{\\"key\\": \\"$AWS_ACCESS_KEY_ID\\", \\"environment\\": \\"$STARTED\\"}" > /dev/null
done
"""


def test_other_runtimes_get_a_new_environment_before_their_credentials_expire(worker, account):
    worker.restart(LAMBDA_CREDENTIALS_TTL="10")
    role = lambda_role(account, "custom-role")
    fn = with_role(function_create(account, "custom-creds", runtime="provided.al2023", handler="x.y", timeout=3,
                                   zip_file=make_zip({"bootstrap": PROVIDED}, executable=("bootstrap",))), role)
    first, warm = run(fn, {}), run(fn, {})
    assert warm == first  # reused while its credentials last the invocation
    time.sleep(11)  # 23 s credentials, 3 s timeout: past 10 s they might not last one
    later = run(fn, {})
    assert later["environment"] != first["environment"] and later["key"] != first["key"]


def test_a_function_reaches_only_the_aws_apis_on_the_endpoint(live_server_process, worker, account):
    fn = python_function(account, """
import json, os, urllib.error, urllib.request
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return [response.status, response.headers.get("x-amzn-ErrorType"), response.read(300).decode()]
    except urllib.error.HTTPError as exc:
        return [exc.code, exc.headers.get("x-amzn-ErrorType"), exc.read(300).decode()]
    except OSError as exc:
        return ["unreachable", str(exc)]
def lambda_handler(event, context):
    base = os.environ["AWS_ENDPOINT_URL"]
    host = base.rsplit(":", 1)[0]
    out = {path: get(base + path) for path in event["paths"]}
    out["console"] = get(host + ":" + str(event["console_port"]) + "/login")
    return out
""", timeout=15)
    paths = ["/", "/login", "/health", "/admin/", "/static/console.css", "/2015-03-31/functions"]
    out = run(fn, {"paths": paths, "console_port": live_server_process.port})
    for path in paths[:-1]:  # the console's pages, login, static files: not here
        status, error_type, text = out[path]
        assert (status, error_type) == (404, "UnknownOperationException") and "AWS APIs only" in text
    status, _, text = out["/2015-03-31/functions"]  # the Lambda API is, and wants a signature
    assert status == 403 and "Missing Authentication Token" in text
    assert out["console"][0] == "unreachable"


def test_the_endpoint_answers_the_host_the_same_way(live_server_process, worker):
    for path in ("/login", "/health", "/ws/logs/x"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(live_server_process.endpoint_url + path, timeout=5)
        assert refused.value.code == 404
        assert refused.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
