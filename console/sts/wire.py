"""STS's API (query protocol): GetCallerIdentity and AssumeRole.

AssumeRole follows STS's API reference and IAM's "How IAM roles differ from resource-based
policies" rules for one account: the role's trust policy must allow the caller (its own ARN,
its role's ARN for a role session, or the account), and when it names only the account, a
role session's own policies must allow sts:AssumeRole too (a user's key is the account's
administrator). A role of another account cannot be assumed here. The credentials are a
sealed session (`console.sts.sessions.mint`), valid for DurationSeconds (900 s up to the
role's MaxSessionDuration; one hour at most when a role session assumes a role, STS's
"role chaining" limit).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse

from .. import authz, awsquery, policy
from ..iam.services import role_by_arn
from ..sigv4 import Principal
from . import sessions

DEFAULT_DURATION = 3600
CHAINED_MAX = 3600


class AccessDenied(awsquery.QueryError):
    query_code, status = "AccessDenied", 403


def handle(request: HttpRequest) -> HttpResponse:
    return awsquery.serve(request, "sts", OPERATIONS)


def get_caller_identity(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    # Anyone may ask who they are: STS needs no permission for it.
    return {"UserId": authz.caller_id(principal), "Account": principal.account.account_id, "Arn": principal.arn}


def _caller_names(principal: Principal) -> list[str]:
    """The ARNs a trust policy may name the caller by (besides its account)."""
    names = [principal.arn]
    if principal.session is not None:
        names.append(principal.session.role_arn)
    return names


def assume_role(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    role_arn, session_name = p["RoleArn"], p["RoleSessionName"]
    denied = AccessDenied(f"User: {principal.arn} is not authorized to perform: sts:AssumeRole on resource: "
                          f"{role_arn}")
    if p.get("Policy") or p.get("PolicyArns"):
        raise awsquery.ValidationError("Session policies (Policy, PolicyArns) are not supported by this server.")
    role = role_by_arn(principal.account, role_arn)
    if role is None:
        raise denied  # STS does not say whether a role it will not let you assume exists
    account_id = principal.account.account_id
    conditions = {"aws:PrincipalArn": principal.session.role_arn if principal.session else principal.arn,
                  "aws:PrincipalAccount": account_id, "sts:RoleSessionName": session_name}
    if "ExternalId" in p:
        conditions["sts:ExternalId"] = p["ExternalId"]
    trust = policy.parse_cached(role.assume_role_policy, "trust")

    def trusted(names: list[str]) -> bool:
        context = policy.RequestContext("sts:AssumeRole", role.arn, {"AWS": names}, conditions)
        return policy.evaluate([trust], context) is policy.Decision.ALLOW

    if not trusted(_caller_names(principal)):
        if not trusted(policy.caller_principal(account_id)["AWS"]):
            raise denied
        # Trusting the account delegates to the account's own policies, as IAM does.
        authz.authorize(principal, "sts:AssumeRole", role.arn)
    duration = p.get("DurationSeconds", DEFAULT_DURATION)
    if principal.is_role and duration > CHAINED_MAX:
        raise awsquery.ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                                       "assumed by role chaining.")
    if duration > role.max_session_duration:
        raise awsquery.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                                       "role.")
    session = sessions.mint(account_id, role.arn, session_name, dt.timedelta(seconds=duration))
    return {"Credentials": {"AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret_access_key,
                            "SessionToken": session.session_token, "Expiration": session.expiration},
            "AssumedRoleUser": {"AssumedRoleId": f"{role.role_id}:{session_name}", "Arn": session.assumed_role_arn}}


OPERATIONS = {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}
