"""A function's resource-based policy: AddPermission, RemovePermission, GetPolicy, and the checks
that read it (another account's call, a service's trigger).

Each statement is a `FunctionPermission` row, kept as GetPolicy shows it; a function has one
policy per qualifier ("" for the unqualified function, or a version or alias), as on AWS
(Lambda developer guide, "Viewing resource-based IAM policies in Lambda" and the AddPermission
API reference). The policy's RevisionId is derived from its statements, so it changes with every
AddPermission and RemovePermission and with nothing else (the function's own RevisionId is not
touched: a new one would retire its warm environments).
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Mapping, Sequence

from django.db import IntegrityError, transaction

from .. import arns, authz
from ..errors import InvalidParameterValue, LambdaError, PreconditionFailed, ResourceConflict, ResourceNotFound
from ..models import Function, FunctionPermission, FunctionUrlConfig
from ..policy import Decision, MalformedPolicy, Policy, RequestContext, evaluate, parse_cached, principal_of
from ..sigv4 import Principal

log = logging.getLogger(__name__)

STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,100}$")
ACTION_RE = re.compile(r"^(lambda:\*|lambda:[a-zA-Z]+|\*)$")
ACCOUNT_RE = re.compile(r"^\d{12}$")
ORG_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
EVENT_SOURCE_TOKEN_RE = re.compile(r"^[a-zA-Z0-9._-]{1,256}$")
URL_AUTH_TYPES = ("NONE", "AWS_IAM")
POLICY_LIMIT = 20480  # bytes: Lambda's quota on a function's resource-based policy
EVENTS = "events.amazonaws.com"


class PolicyLengthExceeded(LambdaError):
    code = "PolicyLengthExceededException"
    status = 400


def _principal(value: str) -> str | dict[str, str]:
    """AddPermission's Principal as the statement names it: an account becomes its root ARN."""
    try:
        return principal_of(value)
    except MalformedPolicy:
        raise InvalidParameterValue("The provided principal was invalid. Please check the principal and try "
                                    "again.", field="Principal")


def _resource(function: Function, qualifier: str) -> str:
    return arns.function_arn(function.account.account_id, function.name, qualifier or None)


def _statements(function: Function, qualifier: str) -> list[dict[str, Any]]:
    return [p.statement for p in FunctionPermission.objects.filter(function=function, qualifier=qualifier)]


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Id": "default", "Statement": statements}


def _revision(function: Function, statements: list[dict[str, Any]]) -> str:
    text = json.dumps(statements, sort_keys=True, separators=(",", ":"))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{function.pk}:{function.created.isoformat()}:{text}"))


def _policy_qualifier(function: Function, qualifier: str | None) -> str:
    """The qualifier whose policy a request names: "" unqualified, else an existing version or alias."""
    if not qualifier:
        return ""
    if qualifier == arns.LATEST:
        raise InvalidParameterValue("We currently do not support adding policies for $LATEST.", field="Qualifier")
    arns.resolve(function, qualifier)  # ResourceNotFound when no version or alias has that name
    return qualifier


def _check_revision(function: Function, statements: list[dict[str, Any]], revision_id: str | None) -> None:
    if revision_id is not None and revision_id != _revision(function, statements):
        raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id. Call the "
                                 "GetPolicy API to retrieve the latest Revision Id")


def _conditions(*, source_arn: str, source_account: str, principal_org_id: str, event_source_token: str,
                function_url_auth_type: str, invoked_via_function_url: bool | None) -> dict[str, dict[str, str]]:
    condition: dict[str, dict[str, str]] = {}
    if source_account:
        if not ACCOUNT_RE.match(source_account):
            raise InvalidParameterValue("SourceAccount must be a 12-digit account id.", field="SourceAccount")
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = source_account
    if principal_org_id:
        # Kept as AWS keeps it; no caller here belongs to an organization, so it never matches.
        if not ORG_ID_RE.match(principal_org_id):
            raise InvalidParameterValue("PrincipalOrgID must have the form o-[a-z0-9]{10,32}.",
                                        field="PrincipalOrgID")
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = principal_org_id
    if event_source_token:
        if not EVENT_SOURCE_TOKEN_RE.match(event_source_token):
            raise InvalidParameterValue("EventSourceToken must be letters, digits, '.', '_' or '-'.",
                                        field="EventSourceToken")
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = event_source_token
    if function_url_auth_type:
        if function_url_auth_type not in URL_AUTH_TYPES:
            raise InvalidParameterValue(f"1 validation error detected: Value '{function_url_auth_type}' at "
                                        "'functionUrlAuthType' failed to satisfy constraint: Member must satisfy "
                                        "enum value set: [NONE, AWS_IAM]", field="FunctionUrlAuthType")
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = function_url_auth_type
    if invoked_via_function_url:
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if source_arn:
        try:
            arns.parse_arn(source_arn)
        except arns.InvalidArn:
            raise InvalidParameterValue(f"SourceArn {source_arn!r} is not a valid ARN.", field="SourceArn")
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = source_arn
    return condition


def permission_add(function: Function, qualifier: str | None, *, statement_id: str, action: str, principal: str,
                   source_arn: str = "", source_account: str = "", principal_org_id: str = "",
                   event_source_token: str = "", function_url_auth_type: str = "",
                   invoked_via_function_url: bool | None = None, revision_id: str | None = None) -> dict[str, Any]:
    """Add one statement to the policy of the function (or of its version or alias); it is returned."""
    if not STATEMENT_ID_RE.match(statement_id or ""):
        raise InvalidParameterValue("StatementId must be 1 to 100 letters, digits, '-' or '_'.",
                                    field="StatementId")
    if not ACTION_RE.match(action or ""):
        raise InvalidParameterValue(f"1 validation error detected: Value '{action}' at 'action' failed to satisfy "
                                    "constraint: Member must satisfy regular expression pattern: "
                                    "(lambda:[*]|lambda:[a-zA-Z]+|[*])", field="Action")
    named = _principal(principal or "")
    qualifier = _policy_qualifier(function, qualifier)
    statement: dict[str, Any] = {"Sid": statement_id, "Effect": "Allow", "Principal": named, "Action": action,
                                 "Resource": _resource(function, qualifier)}
    condition = _conditions(source_arn=source_arn, source_account=source_account,
                            principal_org_id=principal_org_id, event_source_token=event_source_token,
                            function_url_auth_type=function_url_auth_type,
                            invoked_via_function_url=invoked_via_function_url)
    if condition:
        statement["Condition"] = condition
    with transaction.atomic():
        Function.objects.select_for_update().filter(pk=function.pk).first()  # one writer per function's policy
        statements = _statements(function, qualifier)
        _check_revision(function, statements, revision_id)
        if any(s.get("Sid") == statement_id for s in statements):
            raise ResourceConflict("The statement id (sid) provided already exists. Please choose a new statement "
                                   "id, or remove the existing statement.", field="StatementId")
        size = len(json.dumps(_document(statements + [statement]), separators=(",", ":")))
        if size > POLICY_LIMIT:
            raise PolicyLengthExceeded(f"The final policy size ({size}) is bigger than the limit ({POLICY_LIMIT}).")
        try:
            FunctionPermission.objects.create(function=function, qualifier=qualifier, statement_id=statement_id,
                                              statement=statement)
        except IntegrityError:  # a concurrent AddPermission with the same id won
            raise ResourceConflict("The statement id (sid) provided already exists. Please choose a new "
                                   "statement id, or remove the existing statement.", field="StatementId")
    return statement


def permission_remove(function: Function, qualifier: str | None, statement_id: str,
                      revision_id: str | None = None) -> None:
    qualifier = _policy_qualifier(function, qualifier)
    with transaction.atomic():
        Function.objects.select_for_update().filter(pk=function.pk).first()
        statements = _statements(function, qualifier)
        if not statements:
            raise ResourceNotFound("No policy is associated with the given resource.", field="StatementId")
        _check_revision(function, statements, revision_id)
        deleted, _ = FunctionPermission.objects.filter(function=function, qualifier=qualifier,
                                                       statement_id=statement_id).delete()
        if not deleted:
            raise ResourceNotFound(f"Statement {statement_id} is not found in resource policy.",
                                   field="StatementId")


def policy_get(function: Function, qualifier: str | None) -> tuple[dict[str, Any], str]:
    """(the policy document, its RevisionId); ResourceNotFound when it has no statement."""
    qualifier = _policy_qualifier(function, qualifier)
    statements = _statements(function, qualifier)
    if not statements:
        raise ResourceNotFound("The resource you requested does not exist.")
    return _document(statements), _revision(function, statements)


def policy_statements(function: Function) -> list[FunctionPermission]:
    """Every statement of every qualifier's policy (the console's Permissions tab)."""
    return list(FunctionPermission.objects.filter(function=function).order_by("qualifier", "created", "id"))


# --- The checks ---------------------------------------------------------------------------------

def resource_policy(function: Function, qualifier: str | None) -> Policy | None:
    """The parsed policy of the function's (qualified) resource, or None when it has no statement."""
    statements = _statements(function, "" if arns.is_latest(qualifier) else qualifier or "")
    if not statements:
        return None
    try:
        return parse_cached(json.dumps(_document(statements), sort_keys=True), "resource")
    except MalformedPolicy as exc:  # stored by AddPermission, so this would be our bug: refuse, loudly
        log.error("the resource policy of %s (%s) does not parse: %s", function.arn, qualifier or "-", exc)
        return None


def allows(function: Function, qualifier: str | None, action: str, principal: Mapping[str, Sequence[str]],
           conditions: Mapping[str, str | Sequence[str]] | None = None) -> Decision:
    """What the function's resource policy says of `principal` doing `action` on it."""
    policy = resource_policy(function, qualifier)
    if policy is None:
        return Decision.IMPLICIT_DENY
    resource = arns.function_arn(function.account.account_id, function.name,
                                 None if arns.is_latest(qualifier) else qualifier)
    return evaluate([policy], RequestContext(action=action, resource=resource, principal=principal,
                                             conditions=dict(conditions or {})))


def allows_service(function: Function, qualifier: str | None, service: str, source_arn: str,
                   source_account: str) -> bool:
    """May `service` (events.amazonaws.com, s3.amazonaws.com...) invoke the function for `source_arn`?"""
    conditions = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    return allows(function, qualifier, "lambda:InvokeFunction", {"Service": [service]},
                  conditions) is Decision.ALLOW


def function_url_allowed(caller: Principal, config: FunctionUrlConfig) -> bool:
    """May a signed caller invoke an AWS_IAM function URL (lambda:InvokeFunctionUrl)?

    The function's own account: its role's policies, or else a resource policy naming it; another
    account: the function's resource policy, and a role session's policies too (Lambda developer
    guide, "Control access to Lambda function URLs").
    """
    function = config.function
    action, resource = "lambda:InvokeFunctionUrl", config.function_arn
    conditions = {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    identity = authz.identity_decision(caller, action, resource, conditions)
    if identity is Decision.DENY:
        return False
    same_account = caller.account.pk == function.account_id
    if same_account and identity is Decision.ALLOW:
        return True
    if not same_account and identity is not Decision.ALLOW:
        return False
    return allows(function, config.qualifier or None, action, authz.principal_values(caller),
                  conditions) is Decision.ALLOW
