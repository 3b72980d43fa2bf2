"""May the caller do this to this bucket? The bucket's account may, within its identity policies.

Users' access keys act as their account's administrator; a role session (a function's
credentials) needs its role to allow the action (console/authz.py); any other account gets
AccessDenied, as S3 answers a bucket whose policy does not grant it (there are no bucket
policies here yet).
"""
from __future__ import annotations

from ... import authz
from ...policy import Decision
from ...sigv4 import Principal
from ..models import Bucket
from .errors import AccessDenied


def resource_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def check(principal: Principal, action: str, bucket: Bucket | None, key: str | None = None,
          bucket_name: str | None = None) -> None:
    """Raise AccessDenied unless `principal` may do `action` (say "s3:GetObject") here."""
    if bucket is not None and bucket.account_id != principal.account.pk:
        raise AccessDenied()
    name = bucket.name if bucket is not None else bucket_name
    resource = "*" if name is None else resource_arn(name, key)
    if authz.identity_decision(principal, action, resource) is not Decision.ALLOW:
        raise AccessDenied()
