"""May this principal do this action on this resource? The one question every service asks.

Users' access keys act as their account's administrator: they pass. A role session acts only
within its role's identity policies (inline and attached, `console.iam.services.role_documents`),
evaluated by `console.policy`. The parsed policies of a role are cached in this process and
checked against `Role.revision`, which every change to the role's permissions bumps, with one
indexed one-column query: a policy change is seen by the next request, and a warm Invoke by a
role session pays a fraction of a millisecond (no parsing, no joins).

Refusals are `AccessDenied`, worded as AWS words them (IAM's "Troubleshoot access denied error
messages"): Lambda answers them as AccessDeniedException (403), the query-protocol services
(IAM, STS, SNS) as AccessDenied (403).
"""
from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

from django.db import connection

from .errors import LambdaError
from .iam.models import Role
from .iam.services import role_by_arn, role_documents
from .policy import Decision, Policy, RequestContext, caller_principal, evaluate
from .sigv4 import Principal

IDENTITY = "identity-based"
RESOURCE = "resource-based"


class AccessDenied(LambdaError):
    code = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403

    def __init__(self, action: str, resource: str, principal: Principal | str, *, explicit: bool = False,
                 policy_type: str = IDENTITY) -> None:
        arn = principal if isinstance(principal, str) else principal.arn
        if explicit:
            why = f"with an explicit deny in {'an' if policy_type == IDENTITY else 'a'} {policy_type} policy"
        else:
            why = f"because no {policy_type} policy allows the {action} action"
        super().__init__(f"User: {arn} is not authorized to perform: {action} on resource: {resource} {why}")
        self.action, self.resource, self.principal_arn = action, resource, arn


@dataclass(frozen=True)
class RolePolicies:
    """A role's identity policies as of one revision."""

    pk: int
    arn: str
    role_id: str
    revision: int
    policies: tuple[Policy, ...]


_cache: dict[str, RolePolicies] = {}
_cache_lock = threading.Lock()
MAX_CACHED_ROLES = 10000


def _current_revision(pk: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT revision FROM {Role._meta.db_table} WHERE id = %s", [pk])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _load(principal: Principal, role_arn: str) -> RolePolicies | None:
    role = role_by_arn(principal.account, role_arn)
    if role is None:
        return None
    entry = RolePolicies(role.pk, role.arn, role.role_id, role.revision, tuple(role_documents(role)))
    with _cache_lock:
        if len(_cache) >= MAX_CACHED_ROLES:
            _cache.clear()
        _cache[role_arn] = entry
    return entry


def role_policies(principal: Principal) -> RolePolicies | None:
    """The identity policies of a role session's role, current to its last change; None if it is gone."""
    session = principal.session
    assert session is not None
    entry = _cache.get(session.role_arn)
    if entry is not None:
        revision = _current_revision(entry.pk)
        if revision == entry.revision:
            return entry
        if revision is None:  # deleted (a role of that name made later has another pk)
            with _cache_lock:
                _cache.pop(session.role_arn, None)
    return _load(principal, session.role_arn)


def identity_decision(principal: Principal, action: str, resource: str,
                      conditions: Mapping[str, str | Sequence[str]] | None = None) -> Decision:
    """What the caller's identity policies say: users' keys are administrators (ALLOW)."""
    if not principal.is_role:
        return Decision.ALLOW
    entry = role_policies(principal)
    if entry is None:
        return Decision.IMPLICIT_DENY  # a deleted role's sessions can do nothing
    return evaluate(entry.policies, RequestContext(action=action, resource=resource,
                                                   conditions=_with_globals(principal, conditions)))


def authorize(principal: Principal, action: str, resource: str,
              conditions: Mapping[str, str | Sequence[str]] | None = None) -> None:
    """Raise AccessDenied unless the caller's identity policies allow `action` on `resource`."""
    decision = identity_decision(principal, action, resource, conditions)
    if decision is not Decision.ALLOW:
        raise AccessDenied(action, resource, principal, explicit=decision is Decision.DENY)


def principal_values(principal: Principal) -> dict[str, list[str]]:
    """How a resource policy's `Principal` may name this caller: its account (id or root ARN),
    its own ARN, and for a role session the role's ARN (a policy names the role, not the session)."""
    names = caller_principal(principal.account.account_id, principal.arn)
    if principal.session is not None:
        names["AWS"].append(principal.session.role_arn)
    return names


def caller_id(principal: Principal) -> str:
    """AWS's userId of the caller, the same in GetCallerIdentity and a function URL's event:
    "<role id>:<session name>" for a role session, an AIDA... id derived from a user's ARN."""
    if principal.session is not None:
        entry = role_policies(principal)
        role_id = entry.role_id if entry is not None else principal.session.role_name
        return f"{role_id}:{principal.session.session_name}"
    return "AIDA" + base64.b32encode(hashlib.sha256(principal.arn.encode()).digest()).decode()[:17]


def _with_globals(principal: Principal,
                  conditions: Mapping[str, str | Sequence[str]] | None) -> dict[str, str | Sequence[str]]:
    # The global condition keys every request carries (IAM's "AWS global condition context keys").
    out: dict[str, str | Sequence[str]] = {"aws:PrincipalArn": principal.session.role_arn if principal.session
                                           else principal.arn,
                                           "aws:PrincipalAccount": principal.account.account_id}
    if conditions:
        out.update(conditions)
    return out
