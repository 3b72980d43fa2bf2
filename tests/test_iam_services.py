"""IAM's rules called directly, as the console's pages call them (the API's are in test_iam_api.py)."""
from __future__ import annotations

import json
import re

import pytest

from console import policy
from console.errors import InvalidParameterValue
from console.iam import services
from console.iam.errors import DeleteConflict, LimitExceeded, MalformedPolicyDocument, ValidationError
from console.iam.managed import AWS_MANAGED

from .conftest import python_function

EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _allow(*actions: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})


def test_the_consoles_new_basic_role(alice_account):
    # The console's "Create a new role with basic Lambda permissions": <function>-role-<8 chars>,
    # under /service-role/, trusting Lambda, with AWSLambdaBasicExecutionRole attached.
    role = services.lambda_basic_role_create(alice_account, "my-function")
    assert re.fullmatch(r"my-function-role-[a-z0-9]{8}", role.name) and role.path == "/service-role/"
    assert services.role_list_attached(alice_account, role.name) == [("AWSLambdaBasicExecutionRole",
                                                                      services.BASIC_EXECUTION)]
    assert services.role_for_lambda(alice_account, role.arn) == role
    long = services.lambda_basic_role_create(alice_account, "f" * 64)
    assert len(long.name) <= 64
    assert services.roles_trusting_lambda(alice_account) == sorted([role, long], key=lambda r: r.name)


def test_role_for_lambda_refuses_what_lambda_cannot_assume(alice_account, charlie_account):
    services.role_create(alice_account, "ec2", EC2_TRUST)
    theirs = services.role_create(charlie_account, "theirs", services.LAMBDA_TRUST)
    for arn in (f"arn:aws:iam::{alice_account.account_id}:role/ec2", theirs.arn,
                f"arn:aws:iam::{alice_account.account_id}:role/nosuch",
                f"arn:aws:iam::{alice_account.account_id}:role/other-path/ec2"):
        with pytest.raises(InvalidParameterValue) as caught:
            services.role_for_lambda(alice_account, arn)
        assert caught.value.message == "The role defined for the function cannot be assumed by Lambda."
    assert services.roles_trusting_lambda(alice_account) == []


def test_a_functions_role_comes_through_function_create_and_blocks_deletion(alice_account):
    role = services.role_create(alice_account, "runner", services.LAMBDA_TRUST, path="/app/")
    function = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="fn",
                               role=role.arn.replace("runner", "RUNNER"))  # IAM names ignore case
    assert function.role == role.arn  # stored as the role's own ARN
    assert services.role_functions(role) == ["fn"]
    with pytest.raises(DeleteConflict):
        services.role_delete(alice_account, "runner")


def test_quotas_and_malformed_documents(alice_account):
    services.role_create(alice_account, "r", services.LAMBDA_TRUST)
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:GetObject{i:04d}" for i in range(300)], "Resource": "*"}]})
    services.role_put_policy(alice_account, "r", "one", big)
    with pytest.raises(LimitExceeded, match="Maximum policy size of 10240 bytes exceeded for role r"):
        services.role_put_policy(alice_account, "r", "two", big)
    services.role_put_policy(alice_account, "r", "one", big)  # replacing one is not adding one
    for arn in list(AWS_MANAGED)[:10]:
        services.role_attach_policy(alice_account, "r", arn)
    extra = services.policy_create(alice_account, "Extra", _allow("s3:GetObject"))
    with pytest.raises(LimitExceeded, match="Cannot exceed quota for PoliciesPerRole: 10"):
        services.role_attach_policy(alice_account, "r", extra.arn)
    with pytest.raises(MalformedPolicyDocument) as caught:
        services.role_put_policy(alice_account, "r", "bad", "{nope")
    assert (caught.value.message, caught.value.field) == ("Syntax errors in policy.", "document")
    with pytest.raises(ValidationError) as caught:
        services.role_create(alice_account, "bad name", services.LAMBDA_TRUST)
    assert caught.value.field == "name"


def test_role_documents_are_its_inline_then_attached_policies(alice_account):
    role = services.role_create(alice_account, "r", services.LAMBDA_TRUST)
    services.role_put_policy(alice_account, "r", "inline", _allow("sqs:SendMessage"))
    custom = services.policy_create(alice_account, "Custom", _allow("sns:Publish"))
    services.role_attach_policy(alice_account, "r", custom.arn)
    services.role_attach_policy(alice_account, "r", services.BASIC_EXECUTION)
    assert policy.summary(services.role_documents(role)).keys() == {"sqs", "sns", "logs"}
    services.role_detach_policy(alice_account, "r", custom.arn)
    assert "sns" not in policy.summary(services.role_documents(role))
