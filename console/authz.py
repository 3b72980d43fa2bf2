"""May this principal do this action on this resource? (Stand-in until helper 4's console/authz.py lands.)

Only the interface IAM's and STS's wire modules call: `authorize(principal, action, resource)`
raising `AccessDenied`. Users' access keys pass; a role session is evaluated against its role's
identity policies, read afresh each time (no cache). On a merge conflict take the other side.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from . import policy
from .errors import LambdaError
from .sigv4 import Principal


class AccessDenied(LambdaError):
    code = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403

    def __init__(self, action: str, resource: str, principal: Principal, *, explicit: bool = False) -> None:
        why = ("with an explicit deny in an identity-based policy" if explicit
               else f"because no identity-based policy allows the {action} action")
        super().__init__(f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} {why}")


def authorize(principal: Principal, action: str, resource: str,
              conditions: Mapping[str, str | Sequence[str]] | None = None) -> None:
    if not principal.is_role:
        return
    from .iam.services import role_by_arn, role_documents

    role = role_by_arn(principal.account, principal.session.role_arn)
    documents = role_documents(role) if role is not None else []
    decision = policy.evaluate(documents, policy.RequestContext(action, resource, conditions=conditions or {}))
    if decision is not policy.Decision.ALLOW:
        raise AccessDenied(action, resource, principal, explicit=decision is policy.Decision.DENY)
