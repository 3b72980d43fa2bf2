"""The IAM policy language: one parser and one evaluator for every service served here.

Identity policies (a role's inline and attached policies), resource policies (a function's
AddPermission statements; later queues, topics, buckets) and trust policies (who may assume a
role) are parsed here once into compiled patterns (`parse_cached` keeps them by their text) and
evaluated per request with IAM's rules, from "Policy evaluation logic" and "IAM JSON policy
elements reference" (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
.../reference_policies_elements.html):

- an explicit Deny wins over any Allow; with no Allow the request is implicitly denied;
- Action/NotAction match case-insensitively, Resource/NotResource case-sensitively, both with
  `*` and `?` wildcards; Principal/NotPrincipal by account, ARN or service;
- conditions as in `console.policy_conditions`, where what is not understood denies.

Validation raises `MalformedPolicy` whose text is IAM's MalformedPolicyDocument message, in
the order IAM checks (syntax, version, SIDs, actions, resources, principals).
"""
from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from .policy_conditions import IAM_OPERATORS, Condition, Matcher, base_operator, compile_condition

KINDS = ("identity", "managed", "resource", "trust")
VERSIONS = ("2012-10-17", "2008-10-17")
# IAM's quotas, counted in characters without whitespace ("IAM and AWS STS quotas"):
# inline role policies together 10,240, a managed policy 6,144, a trust policy 2,048.
SIZE_LIMITS = {"identity": 10_240, "managed": 6_144, "trust": 2_048}
_QUOTA_NAMES = {"identity": "PolicySize", "managed": "PolicySize", "trust": "ACLSizePerRole"}
_TOP_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                                 "Principal", "NotPrincipal", "Condition"})
_VENDOR = re.compile(r"[A-Za-z0-9\-.]+")
_ACCOUNT = re.compile(r"\d{12}")
_AWS_PRINCIPAL_ARN = re.compile(r"arn:aws[\w-]*:(iam|sts)::(\d{12}):.+")
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_WHITESPACE = re.compile(r"\s+")


class MalformedPolicy(ValueError):
    """A document IAM would refuse; str(exc) is IAM's reason."""

    code = "MalformedPolicyDocument"


class PolicyTooLarge(MalformedPolicy):
    """A document over its size quota: IAM answers LimitExceeded, not MalformedPolicyDocument."""

    code = "LimitExceeded"


class Decision(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"  # an explicit Deny applied
    IMPLICIT_DENY = "ImplicitDeny"  # nothing allowed it


@dataclass(frozen=True)
class RequestContext:
    action: str  # "lambda:InvokeFunction"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    # Who asks, for resource and trust policies: {"AWS": [account id, root ARN, caller ARN],
    # "Service": ["events.amazonaws.com"]}; `caller_principal` builds the AWS part.
    principal: Mapping[str, Sequence[str]] = field(default_factory=dict)
    conditions: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str
    effect: str  # "Allow" or "Deny"
    actions: Matcher
    not_action: bool
    resources: Matcher | None  # None: a trust policy's statements name no resource
    not_resource: bool
    principals: dict[str, frozenset[str]] | None  # None: no Principal element; {"*": ...}: anyone
    not_principal: bool
    conditions: tuple[Condition, ...]
    action_patterns: tuple[str, ...]  # as written, for summaries


@dataclass(frozen=True)
class Policy:
    kind: str
    version: str
    statements: tuple[Statement, ...]
    document: dict[str, Any]  # the parsed JSON; treat as read-only, it may be shared via the cache


# --- Parsing and validation ------------------------------------------------------------------

def parse(document: str | dict, kind: str = "identity") -> Policy:
    """Validate a policy document as IAM does and compile it; MalformedPolicy if IAM would refuse.

    kind: "identity" (an inline policy), "managed" (a managed policy: smaller quota), "resource"
    (statements name a Principal) or "trust" (a role's assume-role policy).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    limit = SIZE_LIMITS.get(kind)
    if limit is not None and len(_WHITESPACE.sub("", text)) > limit:
        raise PolicyTooLarge(f"Cannot exceed quota for {_QUOTA_NAMES[kind]}: {limit}")
    try:
        data = json.loads(text) if isinstance(document, str) else document
    except ValueError:
        # CreateRole and UpdateAssumeRolePolicy word it differently from the policy operations.
        raise MalformedPolicy("This policy contains invalid Json" if kind == "trust"
                              else "Syntax errors in policy.") from None
    statements = _check_syntax(data)
    version = data.get("Version", "2008-10-17")
    if kind in ("identity", "managed") and version != "2012-10-17":
        raise MalformedPolicy("Policy document must be version 2012-10-17 or greater.")
    sids = [s["Sid"] for s in statements if s.get("Sid")]
    if len(sids) != len(set(sids)):
        raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
    for statement in statements:
        _check_statement(statement, kind)
    return Policy(kind, version, tuple(_compile(s) for s in statements), data)


@lru_cache(maxsize=2048)
def parse_cached(document: str, kind: str = "identity") -> Policy:
    """`parse`, remembered by the document's text: evaluation then costs no parsing."""
    return parse(document, kind)


def _strings(value: Any) -> list[str] | None:
    """A string or a list of strings as a list; None for anything else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _check_syntax(data: Any) -> list[dict]:
    """The statements, if the document has the policy grammar's shape; else "Syntax errors"."""
    syntax = MalformedPolicy("Syntax errors in policy.")
    if not isinstance(data, dict) or not set(data) <= _TOP_ELEMENTS or "Statement" not in data:
        raise syntax
    if "Version" in data and data["Version"] not in VERSIONS:
        raise syntax
    if "Id" in data and not isinstance(data["Id"], str):
        raise syntax
    raw = data["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise syntax
    for s in statements:
        if not isinstance(s, dict) or not set(s) <= _STATEMENT_ELEMENTS:
            raise syntax
        if ("Action" in s and "NotAction" in s) or ("Resource" in s and "NotResource" in s) \
                or ("Principal" in s and "NotPrincipal" in s):
            raise syntax
        if s.get("Effect") not in ("Allow", "Deny") or not isinstance(s.get("Sid", ""), str):
            raise syntax
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in s and _strings(s[key]) is None:
                raise syntax
        if "Condition" in s and not _condition_syntax_ok(s["Condition"]):
            raise syntax
    return statements


def _condition_values(value: Any) -> list[str] | None:
    """Condition values: strings, booleans or numbers, alone or in a list, as strings."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            return None
    return out


def _condition_syntax_ok(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    for operator, keys in block.items():
        if not isinstance(keys, dict) or base_operator(operator) not in IAM_OPERATORS:
            return False
        if any(_condition_values(v) is None for v in keys.values()):
            return False
    return True


def _check_statement(s: dict, kind: str) -> None:
    action_key = "Action" if "Action" in s else "NotAction"
    if action_key not in s or not _strings(s[action_key]):
        raise MalformedPolicy("Policy statement must contain actions.")
    has_resource = "Resource" in s or "NotResource" in s
    if kind == "trust":
        if has_resource:
            raise MalformedPolicy("Has prohibited field Resource")
    elif not has_resource or not _strings(s.get("Resource", s.get("NotResource"))):
        raise MalformedPolicy("Policy statement must contain resources.")
    for resource in _strings(s.get("Resource", s.get("NotResource"))) or []:
        if resource != "*" and ":" not in resource:
            raise MalformedPolicy(f'Resource {resource} must be in ARN format or "*".')
    has_principal = "Principal" in s or "NotPrincipal" in s
    if kind in ("identity", "managed"):
        if has_principal:
            raise MalformedPolicy("Policy document should not specify a principal.")
    elif not has_principal:
        raise MalformedPolicy("Missing required field Principal")
    else:
        _check_principal(s.get("Principal", s.get("NotPrincipal")))
    for action in _strings(s[action_key]):
        _check_action(action, kind)


def _check_action(action: str, kind: str) -> None:
    if action == "*":
        return
    parts = action.split(":")
    if len(parts) == 1:
        raise MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    if len(parts) > 2:
        raise MalformedPolicy("Actions/Condition can contain only one colon.")
    if not _VENDOR.fullmatch(parts[0]):
        raise MalformedPolicy(f"Vendor {parts[0]} is not valid")
    if kind == "trust" and parts[0].lower() != "sts":
        raise MalformedPolicy("Trust Policy statement actions can only be sts:AssumeRole, "
                              "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity")


def _check_principal(value: Any) -> None:
    if value == "*":
        return
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Syntax errors in policy.")
    for kind, ids in value.items():
        names = _strings(ids)
        if kind not in _PRINCIPAL_TYPES or not names:
            raise MalformedPolicy(f'Invalid principal in policy: "{kind}":{json.dumps(ids)}')
        for name in names:
            ok = (name == "*" or bool(_ACCOUNT.fullmatch(name)) or bool(_AWS_PRINCIPAL_ARN.fullmatch(name))
                  if kind == "AWS" else bool(name) and not any(c.isspace() for c in name))
            if not ok:
                raise MalformedPolicy(f'Invalid principal in policy: "{kind}":"{name}"')


def _principal_ids(kind: str, name: str) -> set[str]:
    """The names one principal entry stands for: an account id is also its root ARN."""
    if kind == "AWS":
        account = name if _ACCOUNT.fullmatch(name) else None
        match = _AWS_PRINCIPAL_ARN.fullmatch(name)
        if match and name.endswith(":root"):
            account = match.group(2)
        if account:
            return {account, f"arn:aws:iam::{account}:root"}
        return {name}
    return {name.lower()}


def _compile(s: dict) -> Statement:
    not_action = "NotAction" in s
    action_patterns = tuple(_strings(s["NotAction" if not_action else "Action"]) or ())
    not_resource = "NotResource" in s
    resources = _strings(s.get("NotResource" if not_resource else "Resource"))
    not_principal = "NotPrincipal" in s
    raw_principal = s.get("NotPrincipal" if not_principal else "Principal")
    principals: dict[str, frozenset[str]] | None = None
    if raw_principal == "*":
        principals = {"*": frozenset()}
    elif isinstance(raw_principal, dict):
        principals = {k: frozenset().union(*(_principal_ids(k, n) for n in _strings(v) or []))
                      for k, v in raw_principal.items()}
    conditions = tuple(compile_condition(op, key, _condition_values(values) or [])
                       for op, keys in (s.get("Condition") or {}).items() for key, values in keys.items())
    return Statement(
        sid=s.get("Sid", ""), effect=s["Effect"],
        actions=Matcher(action_patterns, lower=True), not_action=not_action,
        resources=Matcher(resources) if resources is not None else None, not_resource=not_resource,
        principals=principals, not_principal=not_principal, conditions=conditions,
        action_patterns=action_patterns)


# --- Evaluation ------------------------------------------------------------------------------

def _principal_matches(statement: Statement, asked: Mapping[str, frozenset[str]]) -> bool:
    principals = statement.principals
    assert principals is not None
    if "*" in principals:
        return True
    for kind, names in principals.items():
        have = asked.get(kind)
        if have and ("*" in names or names & have):
            return True
    return False


def _asked_principals(principal: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    return {kind: frozenset().union(*(_principal_ids(kind, n) for n in names))
            for kind, names in principal.items() if names}


def _context(conditions: Mapping[str, str | Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {key.lower(): (value,) if isinstance(value, str) else tuple(value)
            for key, value in conditions.items()}


def evaluate(policies: Iterable[Policy], request: RequestContext) -> Decision:
    """IAM's decision for one request against a set of policies of one kind."""
    action = request.action.lower()
    resource = request.resource
    asked: dict[str, frozenset[str]] | None = None
    context: dict[str, tuple[str, ...]] | None = None
    allowed = False
    for policy in policies:
        for st in policy.statements:
            if st.actions(action) == st.not_action:
                continue
            if st.resources is not None and st.resources(resource) == st.not_resource:
                continue
            if st.principals is not None:
                if asked is None:
                    asked = _asked_principals(request.principal)
                if _principal_matches(st, asked) == st.not_principal:
                    continue
            if st.conditions:
                if context is None:
                    context = _context(request.conditions)
                verdicts = [c.check(context) for c in st.conditions]
                if False in verdicts:
                    continue
                if None in verdicts and st.effect == "Allow":
                    continue  # not understood: an Allow does not apply, a Deny does
            if st.effect == "Deny":
                return Decision.DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def trusts_service(trust: Policy, service: str, action: str = "sts:AssumeRole",
                   conditions: Mapping[str, str | Sequence[str]] | None = None) -> bool:
    """Does a role's trust policy let an AWS service (lambda.amazonaws.com) assume the role?"""
    request = RequestContext(action, "*", {"Service": [service]}, conditions or {})
    return evaluate([trust], request) is Decision.ALLOW


def caller_principal(account_id: str, arn: str | None = None) -> dict[str, list[str]]:
    """The principal of a request made with an account's credentials, as a RequestContext names it."""
    names = [account_id, f"arn:aws:iam::{account_id}:root"]
    if arn:
        names.append(arn)
    return {"AWS": names}


def principal_of(value: str) -> str | dict[str, str]:
    """A Principal element from AddPermission's Principal parameter, as Lambda writes it.

    "*" stays "*"; an account id becomes its root ARN under "AWS"; an IAM/STS ARN goes under
    "AWS"; a service ("s3.amazonaws.com") under "Service". Anything else: MalformedPolicy.
    """
    if value == "*":
        return "*"
    if _ACCOUNT.fullmatch(value):
        return {"AWS": f"arn:aws:iam::{value}:root"}
    if _AWS_PRINCIPAL_ARN.fullmatch(value):
        return {"AWS": value}
    if re.fullmatch(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?", value):
        return {"Service": value}
    raise MalformedPolicy(f"Invalid principal in policy: {value}")


def summary(policies: Iterable[Policy]) -> dict[str, list[str]]:
    """What a set of identity policies allows, per service prefix: {"logs": ["logs:CreateLogGroup"]}.

    Allow statements only, with their action patterns as written ("*" under "*"); a NotAction
    statement shows as "* except <patterns>" under "*". Keys sorted, patterns in first-seen order.
    """
    found: dict[str, list[str]] = {}
    for policy in policies:
        for st in policy.statements:
            if st.effect != "Allow":
                continue
            if st.not_action:
                entries = [("*", "* except " + ", ".join(st.action_patterns))]
            else:
                entries = [(p.split(":", 1)[0].lower() if ":" in p else "*", p) for p in st.action_patterns]
            for service, pattern in entries:
                patterns = found.setdefault(service, [])
                if pattern not in patterns:
                    patterns.append(pattern)
    return {service: found[service] for service in sorted(found)}
