"""Managed policies: AWS's own (data in `console.iam.managed`) and the account's (CreatePolicy).

Both are addressed by ARN and shown alike (`PolicyInfo`); only the account's own can be
created or deleted. A customer managed policy keeps one version, v1, its default: this
server has no CreatePolicyVersion.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, transaction

from ..policy import Policy, parse_cached
from .checks import check_name, check_path, parse_document
from .errors import DeleteConflict, EntityAlreadyExists, InvalidInput, NoSuchEntity
from .managed import AWS_MANAGED, aws_managed
from .models import ManagedPolicy, RolePolicyAttachment

DEFAULT_VERSION = "v1"
SCOPES = ("All", "AWS", "Local")


@dataclass(frozen=True)
class PolicyInfo:
    arn: str
    name: str
    path: str
    policy_id: str
    description: str
    document: str  # JSON text
    created: dt.datetime
    updated: dt.datetime
    attachment_count: int
    aws_managed: bool
    default_version: str = DEFAULT_VERSION


@lru_cache(maxsize=None)
def _aws_document(arn: str) -> str:
    data = aws_managed(arn)
    return json.dumps(data.document, indent=4) if data is not None else ""


def _attachments(account, arn: str) -> int:
    return RolePolicyAttachment.objects.filter(role__account=account, policy_arn=arn).count()


def _info_of_row(row: ManagedPolicy) -> PolicyInfo:
    return PolicyInfo(row.arn, row.name, row.path, row.policy_id, row.description, row.document, row.created,
                      row.updated, _attachments(row.account, row.arn), False)


def _info_of_aws(account, arn: str) -> PolicyInfo:
    data = aws_managed(arn)
    return PolicyInfo(data.arn, data.name, data.path, data.policy_id, data.description, _aws_document(arn),
                      data.created, data.updated, _attachments(account, arn), True, data.version_id)


def _row(account, arn: str) -> ManagedPolicy | None:
    prefix = f"arn:aws:iam::{account.account_id}:policy/"
    if not isinstance(arn, str) or not arn.startswith(prefix):
        return None
    name = arn.rsplit("/", 1)[-1]
    row = ManagedPolicy.objects.filter(account=account, name__iexact=name).select_related("account").first()
    return row if row is not None and row.arn == arn else None


def policy_exists(account, arn: str) -> bool:
    return aws_managed(arn) is not None or _row(account, arn) is not None


def policy_get(account, arn: str) -> PolicyInfo:
    if aws_managed(arn) is not None:
        return _info_of_aws(account, arn)
    row = _row(account, arn)
    if row is None:
        raise NoSuchEntity(f"Policy {arn} was not found.", field="policy_arn")
    return _info_of_row(row)


def policy_get_version(account, arn: str, version_id: str) -> PolicyInfo:
    info = policy_get(account, arn)
    if version_id != info.default_version:
        raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.",
                           field="version_id")
    return info


def policy_list(account, scope: str = "All", only_attached: bool = False, path_prefix: str = "/") -> list[PolicyInfo]:
    """The policies ListPolicies shows: AWS's, the account's (Local), or both (All), by name."""
    if scope not in SCOPES:
        raise InvalidInput(f"Scope must be one of {', '.join(SCOPES)}.", field="scope")
    out: list[PolicyInfo] = []
    if scope in ("All", "AWS"):
        out += [_info_of_aws(account, arn) for arn in AWS_MANAGED]
    if scope in ("All", "Local"):
        out += [_info_of_row(row) for row in ManagedPolicy.objects.filter(account=account).select_related("account")]
    out = [p for p in out if p.path.startswith(path_prefix) and (p.attachment_count or not only_attached)]
    return sorted(out, key=lambda p: p.name.lower())


def policy_create(account, name: str, document: str, *, path: str = "/", description: str = "") -> PolicyInfo:
    check_name(name, "policyName", 128)
    check_path(path, "path")
    if len(description or "") > 1000:
        raise InvalidInput("Description must be at most 1000 characters.", field="description")
    parse_document(document, "managed", "policyDocument")  # its size quota included
    exists = EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.",
                                 field="name")
    if ManagedPolicy.objects.filter(account=account, name__iexact=name).exists():
        raise exists
    try:
        with transaction.atomic():
            row = ManagedPolicy.objects.create(account=account, name=name, path=path, document=document,
                                               description=description or "")
    except IntegrityError:
        raise exists
    return _info_of_row(row)


def policy_delete(account, arn: str) -> None:
    if aws_managed(arn) is not None:
        raise InvalidInput(f"{arn} is an AWS managed policy: it cannot be deleted.", field="policy_arn")
    row = _row(account, arn)
    if row is None:
        raise NoSuchEntity(f"Policy {arn} was not found.", field="policy_arn")
    if _attachments(account, arn):
        raise DeleteConflict("Cannot delete a policy attached to entities.", field="policy_arn")
    row.delete()


def managed_policy_document(account, arn: str) -> dict[str, Any] | None:
    """The document of a managed policy the account may attach, or None."""
    if (data := aws_managed(arn)) is not None:
        return data.document
    row = _row(account, arn)
    return json.loads(row.document) if row is not None else None


def managed_policy_parsed(account, arn: str) -> Policy | None:
    """The parsed policy of a managed policy the account may attach, or None (cached by its text)."""
    if (data := aws_managed(arn)) is not None:
        return data.policy
    row = _row(account, arn)
    return parse_cached(row.document, "managed") if row is not None else None
