"""Who may call what: role sessions within their role's policies, functions' resource-based
policies (AddPermission, RemovePermission, GetPolicy), another account's calls, function URLs
with AWS_IAM signed by a role session. Through boto3 against the live server.
"""
from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.db.models import F

from console.iam.models import Role, RolePolicy
from console.models import FunctionPermission
from console.sts.sessions import mint

from .api_helpers import REGION, create_hello
from .conftest import python_function
from .http_helpers import request

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _role(account, name: str, *statements: dict) -> Role:
    role = Role.objects.create(account=account, name=name, assume_role_policy=LAMBDA_TRUST)
    for number, statement in enumerate(statements):
        _put_policy(role, f"p{number}", statement)
    return role


def _put_policy(role: Role, name: str, statement: dict) -> None:
    RolePolicy.objects.update_or_create(role=role, name=name, defaults={"document": json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]})})
    Role.objects.filter(pk=role.pk).update(revision=F("revision") + 1)  # as console.iam.services does


def _session_client(url: str, role: Role, session_name: str = "tester", service: str = "lambda"):
    session = mint(role.account.account_id, role.arn, session_name, dt.timedelta(hours=1))
    client = boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=session.access_key_id,
                          aws_secret_access_key=session.secret_access_key, aws_session_token=session.session_token,
                          config=Config(retries={"total_max_attempts": 1}))
    return client, session


def _error(caught: pytest.ExceptionInfo) -> tuple[int, str, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def _allow(action: str, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# --- Role sessions in their own account --------------------------------------------------------

# IAM's "Troubleshoot access denied error messages": the message names the caller, the action,
# the resource and which kind of policy did not allow it.
@pytest.mark.integration
def test_a_role_session_without_invoke_permission_is_denied_naming_action_and_resource(
        live_server_url, alice_lambda, alice_account):
    create_hello(alice_lambda, "target")
    arn = f"arn:aws:lambda:us-east-1:{alice_account.account_id}:function:target"
    role = _role(alice_account, "reader", _allow("lambda:GetFunction"))
    client, session = _session_client(live_server_url, role, "caller-fn")

    assert client.get_function(FunctionName="target")["Configuration"]["FunctionName"] == "target"
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="target", Payload=b"{}")
    assert _error(caught) == (403, "AccessDeniedException", (
        f"User: arn:aws:sts::{alice_account.account_id}:assumed-role/reader/caller-fn is not authorized to perform: "
        f"lambda:InvokeFunction on resource: {arn} because no identity-based policy allows the "
        "lambda:InvokeFunction action"))
    with pytest.raises(ClientError) as caught:
        client.list_functions()
    assert _error(caught)[1] == "AccessDeniedException" and "lambda:ListFunctions on resource: *" in _error(caught)[2]

    # The next request sees a policy change: the cache follows the role's revision.
    _put_policy(role, "invoke", _allow("lambda:InvokeFunction", "arn:aws:lambda:*:*:function:target*"))
    answer = client.invoke(FunctionName="target", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 200 and json.loads(answer["Payload"].read())["event"] == {"n": 1}

    _put_policy(role, "deny", {"Effect": "Deny", "Action": "lambda:Invoke*", "Resource": "*"})
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="target", Payload=b"{}")
    assert _error(caught)[2].endswith(f"on resource: {arn} with an explicit deny in an identity-based policy")


@pytest.mark.integration
def test_a_qualified_call_is_checked_against_the_qualified_arn(live_server_url, alice_lambda, alice_account):
    create_hello(alice_lambda, "versioned", Publish=True)
    arn = f"arn:aws:lambda:us-east-1:{alice_account.account_id}:function:versioned"
    role = _role(alice_account, "only-v1", _allow("lambda:GetFunctionConfiguration", f"{arn}:1"))
    client, _ = _session_client(live_server_url, role)
    assert client.get_function_configuration(FunctionName="versioned", Qualifier="1")["Version"] == "1"
    with pytest.raises(ClientError) as caught:
        client.get_function_configuration(FunctionName="versioned")
    assert f"on resource: {arn} because" in _error(caught)[2]


# Lambda developer guide, "Grant Lambda function access to a role" / IAM's iam:PassRole: naming
# an execution role needs iam:PassRole on it as well as lambda:CreateFunction.
@pytest.mark.integration
def test_creating_a_function_as_a_role_session_needs_pass_role(live_server_url, alice_lambda, alice_account):
    from .api_helpers import hello_zip

    execution = _role(alice_account, "execution")
    deployer = _role(alice_account, "deployer", _allow("lambda:CreateFunction"))
    client, session = _session_client(live_server_url, deployer, "ci")
    with pytest.raises(ClientError) as caught:
        client.create_function(FunctionName="deployed", Runtime="python3.11", Role=execution.arn,
                               Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert _error(caught) == (403, "AccessDeniedException", (
        f"User: {session.assumed_role_arn} is not authorized to perform: iam:PassRole on resource: {execution.arn} "
        "because no identity-based policy allows the iam:PassRole action"))
    _put_policy(deployer, "pass", _allow("iam:PassRole", execution.arn))
    created = client.create_function(FunctionName="deployed", Runtime="python3.11", Role=execution.arn,
                                     Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()})
    assert created["FunctionName"] == "deployed"


@pytest.mark.integration
def test_a_session_of_a_deleted_role_can_do_nothing(live_server_url, alice_lambda, alice_account):
    role = _role(alice_account, "short-lived", _allow("lambda:*"))
    client, _ = _session_client(live_server_url, role)
    assert client.list_functions()["Functions"] == []
    role.delete()
    with pytest.raises(ClientError) as caught:
        client.list_functions()
    assert _error(caught)[1] == "AccessDeniedException"


# --- Resource-based policies ------------------------------------------------------------------

# Lambda API reference: AddPermission, RemovePermission, GetPolicy; and the developer guide's
# "Granting function access to other accounts".
@pytest.mark.integration
def test_another_account_invokes_only_after_add_permission_allows_it(
        live_server_url, alice_lambda, charlie_lambda, alice_account, charlie_account):
    arn = create_hello(alice_lambda, "shared")["FunctionArn"]
    charlie_arn = "arn:aws:iam::222222222222:user/charlie"
    with pytest.raises(ClientError) as caught:
        charlie_lambda.invoke(FunctionName=arn, Payload=b"{}")
    assert _error(caught) == (403, "AccessDeniedException", (
        f"User: {charlie_arn} is not authorized to perform: lambda:InvokeFunction on resource: {arn} because no "
        "resource-based policy allows the lambda:InvokeFunction action"))

    added = alice_lambda.add_permission(FunctionName="shared", StatementId="charlie-invokes",
                                        Action="lambda:InvokeFunction", Principal=charlie_account.account_id)
    assert json.loads(added["Statement"]) == {
        "Sid": "charlie-invokes", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": "lambda:InvokeFunction", "Resource": arn}
    answer = charlie_lambda.invoke(FunctionName=arn, Payload=b'{"from": "charlie"}')
    assert json.loads(answer["Payload"].read())["event"] == {"from": "charlie"}
    # ... and nothing more than that action.
    with pytest.raises(ClientError) as caught:
        charlie_lambda.get_function(FunctionName=arn)
    assert "lambda:GetFunction" in _error(caught)[2] and _error(caught)[1] == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:  # a name alone is charlie's own (missing) function
        charlie_lambda.invoke(FunctionName="shared", Payload=b"{}")
    assert _error(caught)[1] == "ResourceNotFoundException"

    alice_lambda.remove_permission(FunctionName="shared", StatementId="charlie-invokes")
    with pytest.raises(ClientError) as caught:
        charlie_lambda.invoke(FunctionName=arn, Payload=b"{}")
    assert _error(caught)[1] == "AccessDeniedException"


@pytest.mark.integration
def test_a_role_session_of_another_account_needs_both_policies(
        live_server_url, alice_lambda, alice_account, charlie_account):
    arn = create_hello(alice_lambda, "both")["FunctionArn"]
    role = _role(charlie_account, "caller")
    client, session = _session_client(live_server_url, role)
    alice_lambda.add_permission(FunctionName="both", StatementId="caller-role", Action="lambda:InvokeFunction",
                                Principal=role.arn)
    with pytest.raises(ClientError) as caught:  # alice's policy allows; the role's own does not
        client.invoke(FunctionName=arn, Payload=b"{}")
    assert "because no identity-based policy allows" in _error(caught)[2]
    _put_policy(role, "invoke", _allow("lambda:InvokeFunction"))
    assert client.invoke(FunctionName=arn, Payload=b"{}")["StatusCode"] == 200


@pytest.mark.integration
def test_get_policy_add_and_remove_permission_shapes_and_errors(live_server_url, alice_lambda, alice_account):
    arn = create_hello(alice_lambda, "guarded")["FunctionArn"]
    with pytest.raises(ClientError) as caught:
        alice_lambda.get_policy(FunctionName="guarded")
    assert _error(caught) == (404, "ResourceNotFoundException", "The resource you requested does not exist.")

    alice_lambda.add_permission(FunctionName="guarded", StatementId="s3", Action="lambda:InvokeFunction",
                                Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::uploads",
                                SourceAccount=alice_account.account_id)
    got = alice_lambda.get_policy(FunctionName="guarded")
    policy = json.loads(got["Policy"])
    assert policy == {"Version": "2012-10-17", "Id": "default", "Statement": [{
        "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": alice_account.account_id},
                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}}}]}
    revision = got["RevisionId"]

    for bad in ({"StatementId": "s3", "Principal": "*"},):  # a reused statement id
        with pytest.raises(ClientError) as caught:
            alice_lambda.add_permission(FunctionName="guarded", Action="lambda:InvokeFunction", **bad)
        assert _error(caught)[:2] == (409, "ResourceConflictException")
    for principal in ("12345", "not a principal", "arn:aws:iam::12:user/x", "example.com"):
        with pytest.raises(ClientError) as caught:
            alice_lambda.add_permission(FunctionName="guarded", StatementId="bad", Action="lambda:InvokeFunction",
                                        Principal=principal)
        assert _error(caught) == (400, "InvalidParameterValueException",
                                  "The provided principal was invalid. Please check the principal and try again.")
    with pytest.raises(ClientError) as caught:
        alice_lambda.add_permission(FunctionName="guarded", StatementId="late", Action="lambda:InvokeFunction",
                                    Principal="sns.amazonaws.com", RevisionId="00000000-0000-0000-0000-000000000000")
    assert _error(caught)[:2] == (412, "PreconditionFailedException")
    with pytest.raises(ClientError) as caught:
        alice_lambda.remove_permission(FunctionName="guarded", StatementId="nothing")
    assert _error(caught) == (404, "ResourceNotFoundException", "Statement nothing is not found in resource policy.")
    with pytest.raises(ClientError) as caught:
        alice_lambda.add_permission(FunctionName="guarded", StatementId="v", Action="lambda:InvokeFunction",
                                    Principal="*", Qualifier="7")
    assert _error(caught)[:2] == (404, "ResourceNotFoundException")
    assert FunctionPermission.objects.filter(function__name="guarded").count() == 1  # nothing changed

    alice_lambda.add_permission(FunctionName="guarded", StatementId="sns", Action="lambda:InvokeFunction",
                                Principal="sns.amazonaws.com", RevisionId=revision)
    assert alice_lambda.get_policy(FunctionName="guarded")["RevisionId"] != revision
    with pytest.raises(ClientError) as caught:
        alice_lambda.remove_permission(FunctionName="guarded", StatementId="sns", RevisionId=revision)
    assert _error(caught)[:2] == (412, "PreconditionFailedException")
    alice_lambda.remove_permission(FunctionName="guarded", StatementId="sns")
    alice_lambda.remove_permission(FunctionName="guarded", StatementId="s3")
    with pytest.raises(ClientError) as caught:
        alice_lambda.get_policy(FunctionName="guarded")
    assert _error(caught)[1] == "ResourceNotFoundException"


@pytest.mark.integration
def test_an_alias_has_a_policy_of_its_own(live_server_url, alice_lambda, charlie_lambda, charlie_account):
    arn = create_hello(alice_lambda, "aliased", Publish=True)["FunctionArn"].rsplit(":", 1)[0]  # without ":1"
    alice_lambda.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")
    added = alice_lambda.add_permission(FunctionName="aliased", Qualifier="live", StatementId="live-only",
                                        Action="lambda:InvokeFunction", Principal=charlie_account.account_id)
    assert json.loads(added["Statement"])["Resource"] == f"{arn}:live"
    with pytest.raises(ClientError) as caught:
        alice_lambda.get_policy(FunctionName="aliased")  # the unqualified function has none
    assert _error(caught)[1] == "ResourceNotFoundException"
    assert json.loads(alice_lambda.get_policy(FunctionName=f"{arn}:live")["Policy"])["Statement"][0]["Sid"] == \
        "live-only"
    assert charlie_lambda.invoke(FunctionName=f"{arn}:live", Payload=b"{}")["ExecutedVersion"] == "1"
    with pytest.raises(ClientError) as caught:
        charlie_lambda.invoke(FunctionName=arn, Payload=b"{}")
    assert _error(caught)[1] == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:
        alice_lambda.add_permission(FunctionName="aliased", Qualifier="$LATEST", StatementId="latest",
                                    Action="lambda:InvokeFunction", Principal="*")
    assert _error(caught)[:2] == (400, "InvalidParameterValueException")


# --- Function URLs with AWS_IAM ---------------------------------------------------------------

URL_HANDLER = ("import json\ndef lambda_handler(event, context):\n"
               "    return {'statusCode': 200, 'body': json.dumps(event['requestContext']['authorizer'])}\n")


@pytest.mark.integration
def test_an_aws_iam_function_url_signed_by_a_role_session_needs_invoke_function_url(
        trigger_url, alice_account):
    from console.services.function_urls import function_url_create

    fn = python_function(alice_account, URL_HANDLER)
    config = function_url_create(alice_account, fn, auth_type="AWS_IAM")
    url = f"{trigger_url}/lambda-url/{config.url_id}/"
    role = _role(alice_account, "url-caller")
    session = mint(alice_account.account_id, role.arn, "browser", dt.timedelta(hours=1))

    def signed() -> list[tuple[str, str]]:
        aws = AWSRequest(method="GET", url=url, headers={"Host": trigger_url.split("//")[1]})
        SigV4Auth(session_credentials(session), "lambda", REGION).add_auth(aws)
        return list(aws.headers.items())

    assert request("GET", url, headers=signed()).status == 403
    _put_policy(role, "url", _allow("lambda:InvokeFunctionUrl", fn.arn))
    got = request("GET", url, headers=signed())
    assert got.status == 200
    iam = json.loads(got.body)["iam"]
    assert iam["userArn"] == session.assumed_role_arn and iam["accessKey"] == session.access_key_id
    assert iam["userId"] == f"{role.role_id}:browser"


def session_credentials(session):
    from botocore.credentials import Credentials

    return Credentials(session.access_key_id, session.secret_access_key, session.session_token)


# --- The data migration ---------------------------------------------------------------------

def test_the_migration_allows_existing_schedules_once(alice_account):
    import importlib

    from django.apps import apps

    from console.services.permissions import EVENTS, allows_service
    from console.services.schedules import schedule_rule_create

    migration = importlib.import_module("console.migrations.0011_schedule_permissions")
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    rule = schedule_rule_create(alice_account, "older", "rate(1 hour)", fn)
    assert not allows_service(fn, None, EVENTS, rule.arn, alice_account.account_id)
    migration.allow_schedules(apps, None)
    migration.allow_schedules(apps, None)
    assert allows_service(fn, None, EVENTS, rule.arn, alice_account.account_id)
    assert FunctionPermission.objects.filter(function=fn).count() == 1


def test_every_lambda_operation_has_its_iam_action():
    """An operation missing from the table would be open to every role session."""
    from console.api import access, unknown, urls

    handlers = [handler for pattern in urls.urlpatterns for handler in getattr(pattern.callback, "handlers", {})
                .values() if handler is not unknown.not_an_operation]
    assert len(handlers) == len(access.ACTIONS)
    assert [h.__name__ for h in handlers if access.action_of(h) is None] == []
