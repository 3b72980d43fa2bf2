"""AWS managed policies: the ones Lambda users attach, with AWS's ARNs, paths, ids and documents.

Data in code, not rows: AWS owns them and every account sees the same ones. Each document is
the default version published in the "AWS Managed Policy Reference Guide"
(docs.aws.amazon.com/aws-managed-policy/latest/reference/<PolicyName>.html), whose version is
noted beside it, with its creation and edit times (to the minute, as the guide gives them).
The policy ids are the ones IAM's ListPolicies reports, except the two marked as stand-ins
(policies newer than the published listings found): those have IAM's id shape only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..policy import Policy, parse


@dataclass(frozen=True)
class ManagedPolicyData:
    name: str
    path: str
    policy_id: str
    description: str
    version_id: str  # the default version's id, as GetPolicy's DefaultVersionId
    created: datetime
    updated: datetime
    document: dict[str, Any]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"

    @property
    def policy(self) -> Policy:
        return _PARSED[self.arn]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]

_POLICIES = (
    ManagedPolicyData(
        "AWSLambdaBasicExecutionRole", "/service-role/", "ANPAJNCQGXC42545SKXIK",
        "Provides write permissions to CloudWatch Logs.", "v1",
        _utc("2015-04-09T15:03:00"), _utc("2015-04-09T15:03:00"),
        _doc({"Effect": "Allow", "Action": list(_LOGS), "Resource": "*"})),
    ManagedPolicyData(
        "AWSLambdaSQSQueueExecutionRole", "/service-role/", "ANPAJFWJZI6JNND4TSELK",  # stand-in id
        "Provides receive message, delete message, and read attribute access to SQS queues, "
        "and write permissions to CloudWatch logs.", "v1",
        _utc("2018-06-14T21:50:45"), _utc("2018-06-14T21:50:45"),
        _doc({"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                            "sqs:GetQueueAttributes", *_LOGS], "Resource": "*"})),
    ManagedPolicyData(
        "AWSLambdaDynamoDBExecutionRole", "/service-role/", "ANPAIP7WNAGMIPYNW4WQG",
        "Provides list and read access to DynamoDB streams and write permissions to CloudWatch logs.",
        "v1", _utc("2015-04-09T15:09:00"), _utc("2015-04-09T15:09:00"),
        _doc({"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                            "dynamodb:GetShardIterator", "dynamodb:ListStreams", *_LOGS],
              "Resource": "*"})),
    ManagedPolicyData(
        "AWSLambdaRole", "/service-role/", "ANPAJX4DPCRGTC4NFDUXI",
        "Default policy for AWS Lambda service role.", "v1",
        _utc("2015-02-06T18:41:00"), _utc("2015-02-06T18:41:00"),
        _doc({"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["*"]})),
    ManagedPolicyData(
        "AmazonS3ReadOnlyAccess", "/", "ANPAIZTJ4DXE7G6AGAE6M",
        "Provides read only access to all buckets via the AWS Management Console.", "v3",
        _utc("2015-02-06T18:40:00"), _utc("2023-08-10T21:31:00"),
        _doc({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*",
                                            "s3-object-lambda:Get*", "s3-object-lambda:List*"],
              "Resource": "*"})),
    ManagedPolicyData(
        "AmazonS3FullAccess", "/", "ANPAIFIR6V6BVTRAHWINE",
        "Provides full access to all buckets via the AWS Management Console.", "v2",
        _utc("2015-02-06T18:40:00"), _utc("2021-09-27T20:16:00"),
        _doc({"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"})),
    ManagedPolicyData(
        "AmazonSQSFullAccess", "/", "ANPAI65L554VRJ33ECQS6",
        "Provides full access to Amazon SQS via the AWS Management Console.", "v1",
        _utc("2015-02-06T18:41:00"), _utc("2015-02-06T18:41:00"),
        _doc({"Action": ["sqs:*"], "Effect": "Allow", "Resource": "*"})),
    ManagedPolicyData(
        "AmazonSNSFullAccess", "/", "ANPAJWEKLCXXUNT2SOLSG",
        "Provides full access to Amazon SNS via the AWS Management Console.", "v2",
        _utc("2015-02-06T18:41:00"), _utc("2024-09-24T22:32:00"),
        _doc({"Sid": "SNSFullAccess", "Effect": "Allow", "Action": "sns:*", "Resource": "*"},
             {"Sid": "SMSAccessViaSNS", "Effect": "Allow",
              "Action": ["sms-voice:DescribeVerifiedDestinationNumbers",
                         "sms-voice:CreateVerifiedDestinationNumber",
                         "sms-voice:SendDestinationNumberVerificationCode", "sms-voice:SendTextMessage",
                         "sms-voice:DeleteVerifiedDestinationNumber", "sms-voice:VerifyDestinationNumber",
                         "sms-voice:DescribeAccountAttributes", "sms-voice:DescribeSpendLimits",
                         "sms-voice:DescribePhoneNumbers", "sms-voice:SetTextMessageSpendLimitOverride",
                         "sms-voice:DescribeOptedOutNumbers", "sms-voice:DeleteOptedOutNumber"],
              "Resource": "*",
              "Condition": {"StringEquals": {"aws:CalledViaLast": "sns.amazonaws.com"}}})),
    ManagedPolicyData(
        "AmazonEventBridgeFullAccess", "/", "ANPAZKAPJZG4ONUFBMXEG",  # stand-in id
        "Provides full access to Amazon EventBridge.", "v5",
        _utc("2019-07-11T14:08:00"), _utc("2025-01-22T01:37:00"),
        _doc({"Sid": "EventBridgeActions", "Effect": "Allow",
              "Action": ["events:*", "schemas:*", "scheduler:*", "pipes:*"], "Resource": "*"},
             {"Sid": "IAMCreateServiceLinkedRoleForApiDestinations", "Effect": "Allow",
              "Action": "iam:CreateServiceLinkedRole",
              "Resource": "arn:aws:iam::*:role/aws-service-role/apidestinations.events.amazonaws.com/"
                          "AWSServiceRoleForAmazonEventBridgeApiDestinations",
              "Condition": {"StringEquals": {"iam:AWSServiceName": "apidestinations.events.amazonaws.com"}}},
             {"Sid": "IAMCreateServiceLinkedRoleForAmazonEventBridgeSchemas", "Effect": "Allow",
              "Action": "iam:CreateServiceLinkedRole",
              "Resource": "arn:aws:iam::*:role/aws-service-role/schemas.amazonaws.com/AWSServiceRoleForSchemas",
              "Condition": {"StringEquals": {"iam:AWSServiceName": "schemas.amazonaws.com"}}},
             {"Sid": "SecretsManagerAccessForApiDestinations", "Effect": "Allow",
              "Action": ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret",
                         "secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue",
                         "secretsmanager:PutSecretValue"],
              "Resource": "arn:aws:secretsmanager:*:*:secret:events!*"},
             *({"Sid": f"IAMPassRoleAccessFor{name}", "Effect": "Allow", "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/*",
                "Condition": {"StringLike": {"iam:PassedToService": f"{service}.amazonaws.com"}}}
               for name, service in (("EventBridge", "events"), ("Scheduler", "scheduler"),
                                     ("Pipes", "pipes"))))),
    ManagedPolicyData(
        "AdministratorAccess", "/", "ANPAIWMBCKSKIEE64ZLYK",
        "Provides full access to AWS services and resources.", "v1",
        _utc("2015-02-06T18:39:46"), _utc("2015-02-06T18:39:46"),
        _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
)

AWS_MANAGED: dict[str, ManagedPolicyData] = {p.arn: p for p in _POLICIES}
# Parsed once at import: a malformed entry here fails every test run, not a user's request.
_PARSED: dict[str, Policy] = {p.arn: parse(p.document, "managed") for p in _POLICIES}


def aws_managed(arn: str) -> ManagedPolicyData | None:
    """The AWS managed policy with this ARN, or None."""
    return AWS_MANAGED.get(arn)
