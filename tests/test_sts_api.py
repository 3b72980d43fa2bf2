"""STS's GetCallerIdentity and AssumeRole, through boto3 against the real server.

Following STS's API reference (AssumeRole: DurationSeconds up to the role's MaxSessionDuration,
one hour when chaining roles; GetCallerIdentity's UserId "role-id:session-name" for an assumed
role) and IAM's "Policy evaluation logic" for trust policies within one account.
"""
from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from console.iam.models import Role

from .api_helpers import LAMBDA_TRUST, REGION, client_like

pytestmark = pytest.mark.integration

ACCOUNT = "111111111111"


def _trust(principal: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _error(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def _session_client(url: str, credentials: dict, service: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"], config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def iam(alice_lambda):
    return client_like(alice_lambda, "iam")


@pytest.fixture
def sts(alice_lambda):
    return client_like(alice_lambda, "sts")


def test_a_user_is_told_who_they_are(sts, alice_lambda):
    identity = sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT and identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    # Another key of the same user is the same user.
    assert client_like(alice_lambda, "sts").get_caller_identity()["UserId"] == identity["UserId"]


def test_assume_role_gives_credentials_that_act_as_the_role(live_server_url, iam, sts):
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
                           MaxSessionDuration=7200)["Role"]
    before = dt.datetime.now(dt.timezone.utc)
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ci-run", DurationSeconds=5400)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    lasts = credentials["Expiration"] - before
    assert dt.timedelta(seconds=5390) <= lasts <= dt.timedelta(seconds=5410)
    assert assumed["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:ci-run",
                                          "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run"}
    identity = _session_client(live_server_url, credentials, "sts").get_caller_identity()
    assert identity == {**identity, "Account": ACCOUNT, "UserId": f"{role['RoleId']}:ci-run",
                        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run"}


def test_a_role_session_does_in_iam_only_what_its_policies_allow(live_server_url, iam, sts):
    arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=_trust({"AWS": ACCOUNT}))["Role"]["Arn"]
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName="s1")["Credentials"]
    as_role = _session_client(live_server_url, credentials, "iam")
    status, code, message = _error(lambda: as_role.list_roles())
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1 is not authorized to perform: "
                              "iam:ListRoles")
    iam.put_role_policy(RoleName="reader", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}))
    assert [r["RoleName"] for r in as_role.list_roles()["Roles"]] == ["reader"]
    assert _error(lambda: as_role.create_role(RoleName="escalate", AssumeRolePolicyDocument=LAMBDA_TRUST))[:2] == (
        403, "AccessDenied")
    assert not Role.objects.filter(name="escalate").exists()


def test_assume_role_is_refused_as_sts_refuses_it(live_server_url, iam, sts, charlie_lambda):
    lambda_only = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    short = iam.create_role(RoleName="short", AssumeRolePolicyDocument=_trust({"AWS": ACCOUNT}))["Role"]["Arn"]
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert _error(lambda: sts.assume_role(RoleArn=lambda_only, RoleSessionName="s1")) == (
        403, "AccessDenied", f"User: {alice} is not authorized to perform: sts:AssumeRole on resource: {lambda_only}")
    missing = f"arn:aws:iam::{ACCOUNT}:role/nosuch"
    assert _error(lambda: sts.assume_role(RoleArn=missing, RoleSessionName="s1")) == (
        403, "AccessDenied", f"User: {alice} is not authorized to perform: sts:AssumeRole on resource: {missing}")
    assert _error(lambda: sts.assume_role(RoleArn=short, RoleSessionName="s1", DurationSeconds=7200)) == (
        400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    assert _error(lambda: sts.assume_role(RoleArn=short, RoleSessionName="bad name"))[:2] == (400, "ValidationError")
    charlies = client_like(charlie_lambda, "sts")
    assert _error(lambda: charlies.assume_role(RoleArn=short, RoleSessionName="s1"))[:2] == (403, "AccessDenied")

    # A role session may assume a role that names it, for an hour at most (role chaining).
    iam.create_role(RoleName="next", AssumeRolePolicyDocument=_trust({"AWS": short}), MaxSessionDuration=7200)
    session = _session_client(live_server_url, sts.assume_role(RoleArn=short, RoleSessionName="aa")["Credentials"],
                              "sts")
    nxt = f"arn:aws:iam::{ACCOUNT}:role/next"
    assert _error(lambda: session.assume_role(RoleArn=nxt, RoleSessionName="bb", DurationSeconds=7200)) == (
        400, "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    chained = session.assume_role(RoleArn=nxt, RoleSessionName="bb")["AssumedRoleUser"]["Arn"]
    assert chained == f"arn:aws:sts::{ACCOUNT}:assumed-role/next/bb"
    # The user may not: the trust policy names the role only.
    assert _error(lambda: sts.assume_role(RoleArn=nxt, RoleSessionName="cc"))[:2] == (403, "AccessDenied")


def test_expired_or_forged_session_tokens_are_refused(live_server_url, iam, sts):
    from console.sts import sessions

    arn = iam.create_role(RoleName="r", AssumeRolePolicyDocument=_trust({"AWS": ACCOUNT}))["Role"]["Arn"]
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName="s1")["Credentials"]
    forged = {**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"}
    assert _error(lambda: _session_client(live_server_url, forged, "sts").get_caller_identity())[:2] == (
        403, "InvalidClientTokenId")
    old = sessions.mint(ACCOUNT, arn, "old", dt.timedelta(seconds=1),
                        now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    expired = {"AccessKeyId": old.access_key_id, "SecretAccessKey": old.secret_access_key,
               "SessionToken": old.session_token}
    assert _error(lambda: _session_client(live_server_url, expired, "sts").get_caller_identity())[:2] == (
        403, "ExpiredToken")
