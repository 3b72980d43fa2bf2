"""IAM's rules for roles: create, change and delete them, their inline and attached policies.

Plain functions, called by the IAM API (`console/iam/wire.py`) and the console's pages alike.
Each validates everything first, then changes (a refused call has touched nothing), raising
`console.iam.errors` with the messages IAM's API answers (IAM API reference, and its quotas
page "IAM and AWS STS quotas"). Every change to what a role may do bumps `Role.revision`,
which caches of its parsed policies key on (`console.authz`). Managed policies (AWS's and the
account's own) are in `console.iam.policies`, re-exported here.
"""
from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from .. import policy
from ..errors import InvalidParameterValue
from ..models import Account, Function, Version
from .checks import (check_description, check_name, check_path, check_session_duration, check_tags,  # noqa: F401
                     parse_document)
from .errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from .models import Role, RolePolicy, RolePolicyAttachment
from .policies import (PolicyInfo, managed_policy_document, managed_policy_parsed, policy_create,  # noqa: F401
                       policy_delete, policy_exists, policy_get, policy_get_version, policy_list)

MAX_ATTACHED = 10  # "Managed policies attached to an IAM role": 10 by default
MAX_INLINE_TOTAL = 10240  # all of a role's inline policies, whitespace not counted
LAMBDA_SERVICE = "lambda.amazonaws.com"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": LAMBDA_SERVICE}, "Action": "sts:AssumeRole"}]}, indent=2)
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
CANNOT_BE_ASSUMED = "The role defined for the function cannot be assumed by Lambda."
LAMBDA_ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"


# --- Roles ---------------------------------------------------------------------------------

def role_get(account: Account, name: str) -> Role:
    """The account's role by name (IAM names ignore case); NoSuchEntity otherwise."""
    role = Role.objects.filter(account=account, name__iexact=name).select_related("account").first()
    if role is None:
        raise NoSuchEntity(f"The role with name {name} cannot be found.", field="name")
    return role


def role_list(account: Account, path_prefix: str = "/") -> list[Role]:
    return list(Role.objects.filter(account=account, path__startswith=path_prefix).select_related("account"))


def role_create(account: Account, name: str, assume_role_policy: str, *, path: str = "/", description: str = "",
                max_session_duration: int = 3600, tags: list[dict[str, str]] | None = None) -> Role:
    check_name(name)
    check_path(path)
    check_description(description or "")
    check_session_duration(max_session_duration)
    clean_tags = check_tags(tags or [])
    parse_document(assume_role_policy, "trust", "assumeRolePolicyDocument", field="assume_role_policy")
    exists = EntityAlreadyExists(f"Role with name {name} already exists.", field="name")
    if Role.objects.filter(account=account, name__iexact=name).exists():
        raise exists
    try:
        with transaction.atomic():
            return Role.objects.create(account=account, name=name, path=path, description=description or "",
                                       assume_role_policy=assume_role_policy,
                                       max_session_duration=max_session_duration, tags=clean_tags)
    except IntegrityError:  # created meanwhile by another request
        raise exists


def role_functions(role: Role) -> list[str]:
    """Names of the functions whose $LATEST or any version runs with this role."""
    names = set(Function.objects.filter(account=role.account_id, role=role.arn).values_list("name", flat=True))
    names |= set(Version.objects.filter(function__account=role.account_id, role=role.arn)
                 .values_list("function__name", flat=True))
    return sorted(names)


def role_delete(account: Account, name: str) -> None:
    role = role_get(account, name)
    if role.inline_policies.exists():
        raise DeleteConflict("Cannot delete entity, must delete policies first.", field="name")
    if role.attachments.exists():
        raise DeleteConflict("Cannot delete entity, must detach all policies first.", field="name")
    if functions := role_functions(role):
        raise DeleteConflict("Cannot delete entity, must remove it from the functions that use it first: "
                             f"{', '.join(functions)}.", field="name")
    role.delete()


def _bump(role: Role) -> None:
    Role.objects.filter(pk=role.pk).update(revision=F("revision") + 1)
    role.refresh_from_db(fields=["revision"])


def role_update(account: Account, name: str, *, description: str | None = None,
                max_session_duration: int | None = None) -> Role:
    role = role_get(account, name)
    if description is not None:
        role.description = check_description(description)
    if max_session_duration is not None:
        role.max_session_duration = check_session_duration(max_session_duration)
    role.save(update_fields=["description", "max_session_duration"])
    return role


def role_update_trust(account: Account, name: str, document: str) -> Role:
    role = role_get(account, name)
    parse_document(document, "trust", "policyDocument")
    role.assume_role_policy = document
    role.save(update_fields=["assume_role_policy"])
    _bump(role)
    return role


def role_tag(account: Account, name: str, tags: list[dict[str, str]]) -> Role:
    role = role_get(account, name)
    merged = {t["Key"]: t for t in role.tags}
    merged.update({t["Key"]: t for t in check_tags(tags)})
    role.tags = check_tags(list(merged.values()))
    role.save(update_fields=["tags"])
    return role


def role_untag(account: Account, name: str, keys: list[str]) -> Role:
    role = role_get(account, name)
    role.tags = [t for t in role.tags if t["Key"] not in set(keys)]
    role.save(update_fields=["tags"])
    return role


# --- Inline policies -----------------------------------------------------------------------

def _size(document: str) -> int:
    return len("".join(document.split()))


def role_put_policy(account: Account, role_name: str, policy_name: str, document: str) -> RolePolicy:
    """Add or replace an inline policy of the role."""
    role = role_get(account, role_name)
    check_name(policy_name, "policyName", 128, field="policy_name")
    parse_document(document, "identity", "policyDocument")
    others = role.inline_policies.exclude(name__iexact=policy_name)
    if sum(_size(p.document) for p in others) + _size(document) > MAX_INLINE_TOTAL:
        raise LimitExceeded(f"Maximum policy size of {MAX_INLINE_TOTAL} bytes exceeded for role {role.name}",
                            field="document")
    with transaction.atomic():
        existing = role.inline_policies.filter(name__iexact=policy_name).first()
        if existing is not None:
            existing.document = document
            existing.save(update_fields=["document"])
        else:
            existing = RolePolicy.objects.create(role=role, name=policy_name, document=document)
        _bump(role)
    return existing


def role_get_policy(account: Account, role_name: str, policy_name: str) -> RolePolicy:
    role = role_get(account, role_name)
    found = role.inline_policies.filter(name__iexact=policy_name).select_related("role__account").first()
    if found is None:
        raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.", field="policy_name")
    return found


def role_delete_policy(account: Account, role_name: str, policy_name: str) -> None:
    found = role_get_policy(account, role_name, policy_name)
    with transaction.atomic():
        found.delete()
        _bump(found.role)


def role_list_policies(account: Account, role_name: str) -> list[str]:
    return list(role_get(account, role_name).inline_policies.values_list("name", flat=True))


# --- Attached managed policies -------------------------------------------------------------

def role_attach_policy(account: Account, role_name: str, policy_arn: str) -> None:
    role = role_get(account, role_name)
    if not policy_exists(account, policy_arn):
        raise NoSuchEntity(f"Policy {policy_arn} does not exist or is not attachable.", field="policy_arn")
    if role.attachments.filter(policy_arn=policy_arn).exists():
        return  # attaching again changes nothing, as in IAM
    if role.attachments.count() >= MAX_ATTACHED:
        raise LimitExceeded(f"Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED}", field="policy_arn")
    with transaction.atomic():
        RolePolicyAttachment.objects.get_or_create(role=role, policy_arn=policy_arn)
        _bump(role)


def role_detach_policy(account: Account, role_name: str, policy_arn: str) -> None:
    role = role_get(account, role_name)
    with transaction.atomic():
        if not role.attachments.filter(policy_arn=policy_arn).delete()[0]:
            raise NoSuchEntity(f"Policy {policy_arn} was not found.", field="policy_arn")
        _bump(role)


def role_list_attached(account: Account, role_name: str) -> list[tuple[str, str]]:
    """(name, arn) of each managed policy attached to the role."""
    role = role_get(account, role_name)
    return [(arn.rsplit("/", 1)[-1], arn) for arn in role.attachments.values_list("policy_arn", flat=True)]


def role_documents(role: Role) -> list[policy.Policy]:
    """The role's identity policies, parsed: its inline policies, then its attached ones."""
    documents = [policy.parse_cached(text, "identity")
                 for text in role.inline_policies.values_list("document", flat=True)]
    for arn in role.attachments.values_list("policy_arn", flat=True):
        parsed = managed_policy_parsed(role.account, arn)
        if parsed is not None:
            documents.append(parsed)
    return documents


# --- Lambda's execution roles --------------------------------------------------------------

def role_by_arn(account: Account, role_arn: str) -> Role | None:
    """The account's role this ARN names (path and name), or None."""
    prefix = f"arn:aws:iam::{account.account_id}:role/"
    if not isinstance(role_arn, str) or not role_arn.startswith(prefix):
        return None
    name = role_arn.rsplit("/", 1)[-1]
    role = Role.objects.filter(account=account, name__iexact=name).select_related("account").first()
    if role is None or role.arn.lower() != role_arn.lower():
        return None
    return role


def role_for_lambda(account: Account, role_arn: str) -> Role:
    """The execution role a function may be given: a role of its account that trusts Lambda."""
    if not isinstance(role_arn, str) or not re.fullmatch(LAMBDA_ROLE_PATTERN, role_arn):
        shown = "null" if role_arn is None else f"'{role_arn}'"
        raise InvalidParameterValue(f"1 validation error detected: Value {shown} at 'role' failed to satisfy "
                                    f"constraint: Member must satisfy regular expression pattern: "
                                    f"{LAMBDA_ROLE_PATTERN}", field="Role")
    role = role_by_arn(account, role_arn)
    if role is None or not policy.trusts_service(policy.parse_cached(role.assume_role_policy, "trust"),
                                                 LAMBDA_SERVICE):
        raise InvalidParameterValue(CANNOT_BE_ASSUMED, field="Role")
    return role


def lambda_basic_role_create(account: Account, function_name: str) -> Role:
    """The console's "Create a new role with basic Lambda permissions", named as AWS's console names it."""
    alphabet = string.ascii_lowercase + string.digits
    for _ in range(5):
        name = f"{function_name[:50]}-role-{''.join(secrets.choice(alphabet) for _ in range(8))}"
        if not Role.objects.filter(account=account, name__iexact=name).exists():
            break
    with transaction.atomic():
        role = role_create(account, name, LAMBDA_TRUST, path="/service-role/")
        RolePolicyAttachment.objects.create(role=role, policy_arn=BASIC_EXECUTION)
    return role


def roles_trusting_lambda(account: Account) -> list[Role]:
    """The account's roles a function may be given (the console's "Use an existing role")."""
    out = []
    for role in role_list(account):
        try:
            trust = policy.parse_cached(role.assume_role_policy, "trust")
        except policy.MalformedPolicy:
            continue
        if policy.trusts_service(trust, LAMBDA_SERVICE):
            out.append(role)
    return out

