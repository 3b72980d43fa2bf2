"""AWS managed policies (console/iam/managed.py).

Each document is the default version in the "AWS Managed Policy Reference Guide"
(docs.aws.amazon.com/aws-managed-policy/latest/reference/<PolicyName>.html); these tests check
what a user attaching one relies on: its ARN, and what it allows and does not.
"""
from __future__ import annotations

import re

import pytest

from console.iam.managed import AWS_MANAGED, aws_managed
from console.policy import Decision, RequestContext, evaluate, summary

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"


def decision(arn: str, action: str, resource: str = "*", **conditions) -> Decision:
    return evaluate([AWS_MANAGED[arn].policy], RequestContext(action, resource, conditions=conditions))


def test_the_policies_lambda_users_attach_are_there_under_aws_arns():
    names = {p.name for p in AWS_MANAGED.values()}
    assert {"AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaRole",
            "AWSLambdaDynamoDBExecutionRole", "AmazonS3ReadOnlyAccess", "AmazonS3FullAccess",
            "AmazonSQSFullAccess", "AmazonSNSFullAccess", "AmazonEventBridgeFullAccess",
            "AdministratorAccess"} <= names
    for arn, policy in AWS_MANAGED.items():
        assert arn == f"arn:aws:iam::aws:policy{policy.path}{policy.name}"
        assert re.fullmatch(r"ANPA[A-Z2-7]{17}", policy.policy_id)
        assert policy.document["Version"] == "2012-10-17"
    assert aws_managed(BASIC).path == "/service-role/"
    assert aws_managed("arn:aws:iam::aws:policy/AmazonS3FullAccess").path == "/"
    assert aws_managed("arn:aws:iam::aws:policy/NoSuchPolicy") is None
    assert aws_managed("arn:aws:iam::123456789012:policy/AWSLambdaBasicExecutionRole") is None


def test_basic_execution_writes_logs_and_nothing_else():
    assert decision(BASIC, "logs:CreateLogGroup", LOG_GROUP) is Decision.ALLOW
    assert decision(BASIC, "logs:PutLogEvents", LOG_GROUP) is Decision.ALLOW
    assert decision(BASIC, "logs:DeleteLogGroup", LOG_GROUP) is Decision.IMPLICIT_DENY
    assert decision(BASIC, "s3:GetObject", "arn:aws:s3:::b/k") is Decision.IMPLICIT_DENY
    assert summary([aws_managed(BASIC).policy]) == {
        "logs": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}


def test_sqs_queue_execution_reads_and_deletes_messages():
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert decision(arn, action, QUEUE) is Decision.ALLOW
    assert decision(arn, "sqs:SendMessage", QUEUE) is Decision.IMPLICIT_DENY


def test_lambda_role_invokes_functions_only():
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaRole"
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert decision(arn, "lambda:InvokeFunction", fn) is Decision.ALLOW
    assert decision(arn, "lambda:DeleteFunction", fn) is Decision.IMPLICIT_DENY


def test_s3_read_only_reads_but_does_not_write():
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert decision(arn, "s3:GetObject", "arn:aws:s3:::b/k") is Decision.ALLOW
    assert decision(arn, "s3:ListBucket", "arn:aws:s3:::b") is Decision.ALLOW
    assert decision(arn, "s3:PutObject", "arn:aws:s3:::b/k") is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("name, action", [
    ("AmazonS3FullAccess", "s3:PutObject"), ("AmazonSQSFullAccess", "sqs:SendMessage"),
    ("AmazonSNSFullAccess", "sns:Publish"), ("AmazonEventBridgeFullAccess", "events:PutEvents"),
    ("AmazonEventBridgeFullAccess", "scheduler:CreateSchedule"), ("AdministratorAccess", "iam:CreateRole"),
])
def test_full_access_policies_allow_their_service(name, action):
    assert decision(f"arn:aws:iam::aws:policy/{name}", action, "*") is Decision.ALLOW


def test_full_access_to_one_service_is_not_access_to_another():
    assert decision("arn:aws:iam::aws:policy/AmazonSQSFullAccess", "sns:Publish") is Decision.IMPLICIT_DENY
    assert decision("arn:aws:iam::aws:policy/AmazonS3FullAccess", "lambda:InvokeFunction") \
        is Decision.IMPLICIT_DENY


def test_conditional_statements_allow_only_in_their_context():
    # AmazonSNSFullAccess allows SMS sending only when SNS itself calls (aws:CalledViaLast).
    sns = "arn:aws:iam::aws:policy/AmazonSNSFullAccess"
    assert decision(sns, "sms-voice:SendTextMessage") is Decision.IMPLICIT_DENY
    assert decision(sns, "sms-voice:SendTextMessage", **{"aws:CalledViaLast": "sns.amazonaws.com"}) \
        is Decision.ALLOW
    # AmazonEventBridgeFullAccess passes roles only to EventBridge's own services.
    events = "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess"
    role = "arn:aws:iam::123456789012:role/r"
    assert decision(events, "iam:PassRole", role, **{"iam:PassedToService": "events.amazonaws.com"}) \
        is Decision.ALLOW
    assert decision(events, "iam:PassRole", role, **{"iam:PassedToService": "lambda.amazonaws.com"}) \
        is Decision.IMPLICIT_DENY
