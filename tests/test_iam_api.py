"""IAM's API for roles and policies, through boto3 and the AWS CLI against the real server.

Shapes, codes and messages follow IAM's API reference (CreateRole, PutRolePolicy,
AttachRolePolicy, DeleteRole, CreatePolicy...) and "IAM and AWS STS quotas"; Lambda's
refusal of a role it cannot assume follows CreateFunction's InvalidParameterValueException.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from console.iam.models import Role, RolePolicy, RolePolicyAttachment
from console.services.access_keys import access_key_create

from .api_helpers import LAMBDA_TRUST, client_like, create_hello, hello_zip

pytestmark = pytest.mark.integration

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
READ_LOGS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": "*"}]}


@pytest.fixture
def iam(alice_lambda):
    return client_like(alice_lambda, "iam")


@pytest.fixture
def charlie_iam(charlie_lambda):
    return client_like(charlie_lambda, "iam")


def _error(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def _state() -> tuple:
    return (sorted(Role.objects.values_list("name", "description", "assume_role_policy", "revision")),
            sorted(RolePolicy.objects.values_list("name", "document")),
            sorted(RolePolicyAttachment.objects.values_list("policy_arn", flat=True)))


def test_role_life_cycle_with_boto3(iam):
    created = iam.create_role(RoleName="app", Path="/service-role/", AssumeRolePolicyDocument=LAMBDA_TRUST,
                              Description="runs app", MaxSessionDuration=7200, Tags=[{"Key": "team", "Value": "a"}])
    role = created["Role"]
    assert role["Arn"] == "arn:aws:iam::111111111111:role/service-role/app"
    assert role["RoleId"].startswith("AROA") and role["Path"] == "/service-role/"
    assert role["AssumeRolePolicyDocument"] == json.loads(LAMBDA_TRUST)  # sent URL-encoded, decoded by botocore
    got = iam.get_role(RoleName="app")["Role"]
    assert (got["Description"], got["MaxSessionDuration"], got["Tags"]) == ("runs app", 7200,
                                                                           [{"Key": "team", "Value": "a"}])
    assert got["CreateDate"] == role["CreateDate"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["app"]
    assert iam.list_roles(PathPrefix="/other/")["Roles"] == []

    iam.put_role_policy(RoleName="app", PolicyName="read-logs", PolicyDocument=json.dumps(READ_LOGS))
    assert iam.get_role_policy(RoleName="app", PolicyName="read-logs")["PolicyDocument"] == READ_LOGS
    assert iam.list_role_policies(RoleName="app")["PolicyNames"] == ["read-logs"]
    iam.attach_role_policy(RoleName="app", PolicyArn=BASIC)
    assert iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"] == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]

    iam.update_role(RoleName="app", Description="runs the app", MaxSessionDuration=3600)
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=EC2_TRUST)
    iam.tag_role(RoleName="app", Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_role(RoleName="app", TagKeys=["team"])
    got = iam.get_role(RoleName="APP")["Role"]  # IAM's names ignore case
    assert (got["Description"], got["MaxSessionDuration"]) == ("runs the app", 3600)
    assert got["AssumeRolePolicyDocument"] == json.loads(EC2_TRUST)
    assert iam.list_role_tags(RoleName="app")["Tags"] == [{"Key": "env", "Value": "prod"}]

    iam.detach_role_policy(RoleName="app", PolicyArn=BASIC)
    iam.delete_role_policy(RoleName="app", PolicyName="read-logs")
    iam.delete_role(RoleName="app")
    assert _error(lambda: iam.get_role(RoleName="app")) == (404, "NoSuchEntity",
                                                            "The role with name app cannot be found.")


def test_each_permission_change_bumps_the_roles_revision(iam):
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=LAMBDA_TRUST)
    revisions = [Role.objects.get(name="app").revision]
    for change in (lambda: iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=json.dumps(READ_LOGS)),
                   lambda: iam.attach_role_policy(RoleName="app", PolicyArn=BASIC),
                   lambda: iam.detach_role_policy(RoleName="app", PolicyArn=BASIC),
                   lambda: iam.delete_role_policy(RoleName="app", PolicyName="p")):
        change()
        revisions.append(Role.objects.get(name="app").revision)
    assert revisions == sorted(set(revisions)) and len(revisions) == 5


@pytest.mark.parametrize("call, expected", [
    (lambda iam: iam.create_role(RoleName="bad name!", AssumeRolePolicyDocument=LAMBDA_TRUST),
     (400, "ValidationError", "1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")),
    (lambda iam: iam.create_role(RoleName="x" * 65, AssumeRolePolicyDocument=LAMBDA_TRUST),
     (400, "ValidationError", f"1 validation error detected: Value '{'x' * 65}' at 'roleName' failed to satisfy "
                              "constraint: Member must have length less than or equal to 64")),
    (lambda iam: iam.create_role(RoleName="new", AssumeRolePolicyDocument="{not json"),
     (400, "MalformedPolicyDocument", "This policy contains invalid Json")),
    (lambda iam: iam.put_role_policy(RoleName="kept", PolicyName="p", PolicyDocument="{not json"),
     (400, "MalformedPolicyDocument", "Syntax errors in policy.")),
    (lambda iam: iam.create_role(RoleName="Kept", AssumeRolePolicyDocument=LAMBDA_TRUST),
     (409, "EntityAlreadyExists", "Role with name Kept already exists.")),
    (lambda iam: iam.put_role_policy(RoleName="kept", PolicyName="p", PolicyDocument="[]"),
     (400, "MalformedPolicyDocument", None)),
    (lambda iam: iam.put_role_policy(RoleName="nosuch", PolicyName="p", PolicyDocument=json.dumps(READ_LOGS)),
     (404, "NoSuchEntity", "The role with name nosuch cannot be found.")),
    (lambda iam: iam.get_role_policy(RoleName="kept", PolicyName="nosuch"),
     (404, "NoSuchEntity", "The role policy with name nosuch cannot be found.")),
    (lambda iam: iam.attach_role_policy(RoleName="kept", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy"),
     (404, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.")),
    (lambda iam: iam.detach_role_policy(RoleName="kept", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
     (404, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/AdministratorAccess was not found.")),
    (lambda iam: iam.delete_role(RoleName="kept"),
     (409, "DeleteConflict", "Cannot delete entity, must delete policies first.")),
    (lambda iam: iam.update_role(RoleName="kept", MaxSessionDuration=50000),
     (400, "ValidationError", "1 validation error detected: Value '50000' at 'maxSessionDuration' failed to "
                              "satisfy constraint: Member must have value less than or equal to 43200")),
    (lambda iam: iam.create_user(UserName="u"),
     (400, "InvalidAction", "The operation CreateUser is not supported by this server.")),
])
def test_bad_requests_are_refused_with_iams_errors_and_change_nothing(iam, call, expected):
    iam.create_role(RoleName="kept", AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.put_role_policy(RoleName="kept", PolicyName="p", PolicyDocument=json.dumps(READ_LOGS))
    before = _state()
    status, code, message = _error(lambda: call(iam))
    assert (status, code) == expected[:2]
    assert message == expected[2] if expected[2] else message
    assert _state() == before


def test_a_role_in_use_by_a_function_cannot_be_deleted(iam, alice_lambda):
    role = iam.create_role(RoleName="used", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    alice_lambda.create_function(FunctionName="user-of-role", Runtime="python3.11", Role=role,
                                 Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert _error(lambda: iam.delete_role(RoleName="used")) == (
        409, "DeleteConflict", "Cannot delete entity, must remove it from the functions that use it first: "
                               "user-of-role.")
    alice_lambda.delete_function(FunctionName="user-of-role")
    iam.delete_role(RoleName="used")


def test_customer_managed_policies(iam):
    document = json.dumps(READ_LOGS)
    created = iam.create_policy(PolicyName="ReadLogs", PolicyDocument=document, Description="logs")["Policy"]
    arn = "arn:aws:iam::111111111111:policy/ReadLogs"
    assert created["Arn"] == arn and created["DefaultVersionId"] == "v1" and created["AttachmentCount"] == 0
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "logs"
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == READ_LOGS and version["IsDefaultVersion"] is True
    assert [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]] == [arn]
    aws_names = [p["PolicyName"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]]
    assert "AWSLambdaBasicExecutionRole" in aws_names and "AdministratorAccess" in aws_names
    assert _error(lambda: iam.create_policy(PolicyName="readlogs", PolicyDocument=document)) == (
        409, "EntityAlreadyExists", "A policy called readlogs already exists. Duplicate names are not allowed.")

    iam.create_role(RoleName="app", AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert [p["Arn"] for p in iam.list_policies(OnlyAttached=True)["Policies"]] == [arn]
    assert _error(lambda: iam.delete_policy(PolicyArn=arn)) == (
        409, "DeleteConflict", "Cannot delete a policy attached to entities.")
    assert _error(lambda: iam.delete_role(RoleName="app")) == (
        409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
    iam.detach_role_policy(RoleName="app", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    assert _error(lambda: iam.get_policy(PolicyArn=arn))[:2] == (404, "NoSuchEntity")


def test_another_accounts_roles_are_not_seen_nor_usable(iam, charlie_iam, charlie_lambda):
    alices = iam.create_role(RoleName="alices", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    assert _error(lambda: charlie_iam.get_role(RoleName="alices"))[:2] == (404, "NoSuchEntity")
    assert charlie_iam.list_roles()["Roles"] == []
    assert _error(lambda: charlie_iam.delete_role(RoleName="alices"))[:2] == (404, "NoSuchEntity")
    with pytest.raises(charlie_lambda.exceptions.InvalidParameterValueException) as caught:
        charlie_lambda.create_function(FunctionName="borrowed", Runtime="python3.11", Role=alices,
                                       Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert caught.value.response["Error"]["Message"] == "The role defined for the function cannot be assumed by Lambda."
    assert Role.objects.filter(name="alices").exists()


def test_a_key_that_is_not_ours_is_refused(live_server_url):
    import boto3

    stranger = boto3.client("iam", endpoint_url=live_server_url, region_name="us-east-1",
                            aws_access_key_id="AKIANOTAKEYOFOURS000", aws_secret_access_key="x")
    assert _error(lambda: stranger.list_roles()) == (
        403, "InvalidClientTokenId", "The security token included in the request is invalid.")


# --- Lambda's execution role ---------------------------------------------------------------

def test_functions_need_a_role_of_their_account_that_trusts_lambda(iam, alice_lambda):
    lambda_role = iam.create_role(RoleName="runner", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    ec2_role = iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=EC2_TRUST)["Role"]["Arn"]
    cannot = "The role defined for the function cannot be assumed by Lambda."
    for role, message in ((ec2_role, cannot), ("arn:aws:iam::111111111111:role/nosuch", cannot),
                          ("arn:aws:iam::222222222222:role/runner", cannot),
                          ("not-an-arn", "1 validation error detected: Value 'not-an-arn' at 'role' failed to "
                                         "satisfy constraint: Member must satisfy regular expression pattern: "
                                         "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")):
        with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException) as caught:
            alice_lambda.create_function(FunctionName="f", Runtime="python3.11", Role=role,
                                         Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
        assert caught.value.response["Error"]["Message"] == message
    assert alice_lambda.list_functions()["Functions"] == []

    created = alice_lambda.create_function(FunctionName="f", Runtime="python3.11", Role=lambda_role,
                                           Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert created["Role"] == lambda_role
    version = alice_lambda.publish_version(FunctionName="f")["Version"]
    other = iam.create_role(RoleName="other", Path="/service-role/",
                            AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException):
        alice_lambda.update_function_configuration(FunctionName="f", Role=ec2_role, MemorySize=256)
    assert alice_lambda.get_function(FunctionName="f")["Configuration"]["MemorySize"] == 128
    alice_lambda.update_function_configuration(FunctionName="f", Role=other)
    assert alice_lambda.get_function(FunctionName="f")["Configuration"]["Role"] == other
    assert alice_lambda.get_function(FunctionName="f", Qualifier=version)["Configuration"]["Role"] == lambda_role
    assert _error(lambda: iam.delete_role(RoleName="runner"))[:2] == (409, "DeleteConflict")  # version 1 uses it


def test_aws_cli_makes_a_role_and_a_function_that_runs_with_it(live_server_url, alice, tmp_path: Path):
    key, secret = access_key_create(alice)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_MAX_ATTEMPTS": "1"}

    def aws(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), args[0], "--endpoint-url", live_server_url,
                               *args[1:]], env=env, capture_output=True, text=True, timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        return done

    (tmp_path / "trust.json").write_text(LAMBDA_TRUST)
    (tmp_path / "logs.json").write_text(json.dumps(READ_LOGS))
    role = json.loads(aws("iam", "create-role", "--role-name", "cli-role",
                          "--assume-role-policy-document", f"file://{tmp_path / 'trust.json'}").stdout)["Role"]
    aws("iam", "put-role-policy", "--role-name", "cli-role", "--policy-name", "logs",
        "--policy-document", f"file://{tmp_path / 'logs.json'}")
    aws("iam", "attach-role-policy", "--role-name", "cli-role", "--policy-arn", BASIC)
    shown = json.loads(aws("iam", "get-role-policy", "--role-name", "cli-role", "--policy-name", "logs").stdout)
    assert shown["PolicyDocument"] == READ_LOGS
    refused = aws("iam", "put-role-policy", "--role-name", "cli-role", "--policy-name", "bad",
                  "--policy-document", "{not json", ok=False)
    assert "MalformedPolicyDocument" in refused.stderr and "Syntax errors in policy." in refused.stderr

    (tmp_path / "code.zip").write_bytes(hello_zip("cli"))
    created = json.loads(aws("lambda", "create-function", "--function-name", "cli-fn", "--runtime", "python3.11",
                             "--role", role["Arn"], "--handler", "lambda_function.lambda_handler",
                             "--zip-file", f"fileb://{tmp_path / 'code.zip'}").stdout)
    assert created["Role"] == "arn:aws:iam::111111111111:role/cli-role"
    (tmp_path / "ec2.json").write_text(EC2_TRUST)
    aws("iam", "update-assume-role-policy", "--role-name", "cli-role", "--policy-document",
        f"file://{tmp_path / 'ec2.json'}")
    refused = aws("lambda", "create-function", "--function-name", "cli-fn-2", "--runtime", "python3.11",
                  "--role", role["Arn"], "--handler", "lambda_function.lambda_handler",
                  "--zip-file", f"fileb://{tmp_path / 'code.zip'}", ok=False)
    assert "InvalidParameterValueException" in refused.stderr
    assert "The role defined for the function cannot be assumed by Lambda." in refused.stderr
    listed = json.loads(aws("iam", "list-attached-role-policies", "--role-name", "cli-role").stdout)
    assert listed["AttachedPolicies"] == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]


def test_create_hello_helper_makes_its_role_once(alice_lambda):
    create_hello(alice_lambda, "one")
    create_hello(alice_lambda, "two")
    assert list(Role.objects.values_list("name", flat=True)) == ["lambda-test"]


def test_a_form_without_action_is_missing_action(live_server_url, alice):
    # AWS's "Common Errors": MissingAction, 400, for a query request that names no action.
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key, secret = access_key_create(alice)
    request = AWSRequest(method="POST", url=live_server_url + "/", data=b"Version=2010-05-08&RoleName=r",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key.access_key_id, secret), "iam", "us-east-1").add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, method="POST",
                                                      headers=dict(prepared.headers)), timeout=10)
    body = caught.value.read().decode()
    assert caught.value.code == 400
    assert "<Type>Sender</Type><Code>MissingAction</Code>" in body and "<RequestId>" in body
