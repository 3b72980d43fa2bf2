"""What the console's pages show about roles: read-only views over IAM's rules and rows.

The rules (what a role may do, who may assume it) live in console/policy.py and
console/iam/services.py; this module only turns their answers into what a person reads,
the way AWS's IAM and Lambda consoles word it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import policy
from ..models import Account, Function, FunctionPermission
from . import services
from .managed import AWS_MANAGED
from .models import ManagedPolicy, Role

# The trust policy AWS's console proposes for a role Lambda assumes.
LAMBDA_TRUST = json.loads(services.LAMBDA_TRUST)
# An empty identity policy to start an inline policy from, as IAM's JSON editor does.
EMPTY_POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "Statement1", "Effect": "Allow",
                                                        "Action": [], "Resource": []}]}

# Service prefixes as the Lambda console's resource summary names them.
SERVICE_NAMES = {
    "*": "All services", "cloudwatch": "Amazon CloudWatch", "dynamodb": "Amazon DynamoDB",
    "events": "Amazon EventBridge", "iam": "AWS Identity and Access Management (IAM)", "kms": "AWS Key Management Service",
    "lambda": "AWS Lambda", "logs": "Amazon CloudWatch Logs", "s3": "Amazon S3", "sns": "Amazon SNS",
    "sqs": "Amazon SQS", "sts": "AWS Security Token Service", "xray": "AWS X-Ray", "ec2": "Amazon EC2",
    "secretsmanager": "AWS Secrets Manager", "ssm": "AWS Systems Manager",
}


def pretty_json(document: str | dict) -> str:
    """A policy document indented for reading; text that is not JSON is shown as it is."""
    try:
        value = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return str(document)
    return json.dumps(value, indent=4)


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def principal_labels(principal: Any) -> list[str]:
    """A Principal element as IAM's console lists trusted entities: "AWS Service: lambda", ..."""
    if principal == "*":
        return ["Everyone"]
    if not isinstance(principal, dict):
        return []
    labels = []
    for service in _values(principal.get("Service")):
        labels.append(f"AWS Service: {service.removesuffix('.amazonaws.com')}")
    for aws in _values(principal.get("AWS")):
        if aws == "*":
            labels.append("Everyone")
        elif aws.isdigit() or aws.endswith(":root"):
            labels.append(f"Account: {aws.split(':')[4] if aws.startswith('arn:') else aws}")
        else:
            labels.append(f"AWS: {aws}")
    for federated in _values(principal.get("Federated")):
        labels.append(f"Identity Provider: {federated}")
    return labels


def trusted_entities(role: Role) -> list[str]:
    """Who the role's trust policy lets assume it (its Allow statements' principals)."""
    try:
        document = json.loads(role.assume_role_policy)
        statements = document.get("Statement", [])
    except (ValueError, AttributeError):
        return []
    labels: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            labels += [label for label in principal_labels(statement.get("Principal")) if label not in labels]
    return labels


@dataclass(frozen=True)
class PolicyRow:
    """One row of a role's "Permissions policies" table."""

    name: str
    kind: str  # "AWS managed", "Customer managed" or "Customer inline"
    arn: str  # "" for an inline policy
    description: str
    document: str  # indented JSON


def role_policy_rows(role: Role) -> list[PolicyRow]:
    account = role.account
    rows = []
    for name, arn in services.role_list_attached(account, role.name):
        aws = AWS_MANAGED.get(arn)
        if aws is not None:
            rows.append(PolicyRow(name, "AWS managed", arn, aws.description, pretty_json(aws.document)))
        else:
            document = services.managed_policy_document(account, arn)
            own = ManagedPolicy.objects.filter(account=account, name=name).first()
            rows.append(PolicyRow(name, "Customer managed", arn, own.description if own else "",
                                  pretty_json(document or {})))
    for policy_row in role.inline_policies.all():
        rows.append(PolicyRow(policy_row.name, "Customer inline", "", "", pretty_json(policy_row.document)))
    return sorted(rows, key=lambda row: row.name.lower())


@dataclass(frozen=True)
class Attachable:
    name: str
    arn: str
    kind: str
    description: str


def attachable_policies(account: Account, exclude: set[str] = frozenset()) -> list[Attachable]:
    """Managed policies a role of the account may attach: AWS's, then the account's own."""
    found = [Attachable(p.name, arn, "AWS managed", p.description) for arn, p in AWS_MANAGED.items()]
    found.sort(key=lambda p: p.name.lower())
    found += [Attachable(p.name, p.arn, "Customer managed", p.description)
              for p in ManagedPolicy.objects.filter(account=account).select_related("account")]
    return [p for p in found if p.arn not in exclude]


@dataclass(frozen=True)
class ServiceSummary:
    prefix: str
    name: str
    actions: list[str]


def permission_summary(role: Role) -> list[ServiceSummary]:
    """What the role allows, per service (the Lambda console's "Resource summary")."""
    allowed = policy.summary(services.role_documents(role))
    rows = [ServiceSummary(prefix, SERVICE_NAMES.get(prefix.lower(), prefix), sorted(actions))
            for prefix, actions in allowed.items()]
    return sorted(rows, key=lambda row: (row.prefix != "*", row.name.lower()))


def role_of_function(function: Function) -> Role | None:
    """The function's execution role, if it is still a role of the function's account."""
    return services.role_by_arn(function.account, function.role) if function.role else None


@dataclass(frozen=True)
class StatementRow:
    """One statement of a function's resource-based policy, as the Permissions section lists it."""

    sid: str
    qualifier: str
    effect: str
    principal: str
    actions: list[str]
    conditions: list[str]
    document: str


def _principal_text(principal: Any) -> str:
    if principal == "*":
        return "*"
    if isinstance(principal, dict):
        return ", ".join(v for key in ("Service", "AWS", "Federated") for v in _values(principal.get(key)))
    return str(principal or "")


def _condition_lines(condition: Any) -> list[str]:
    lines = []
    for operator, pairs in (condition or {}).items() if isinstance(condition, dict) else []:
        for key, value in (pairs or {}).items() if isinstance(pairs, dict) else []:
            lines.append(f"{operator} {key}: {', '.join(_values(value))}")
    return lines


def resource_statements(function: Function) -> list[StatementRow]:
    rows = []
    for permission in FunctionPermission.objects.filter(function=function).order_by("qualifier", "created", "id"):
        statement = permission.statement if isinstance(permission.statement, dict) else {}
        rows.append(StatementRow(
            sid=permission.statement_id, qualifier=permission.qualifier, effect=statement.get("Effect", "Allow"),
            principal=_principal_text(statement.get("Principal")), actions=_values(statement.get("Action")),
            conditions=_condition_lines(statement.get("Condition")), document=pretty_json(statement)))
    return rows
