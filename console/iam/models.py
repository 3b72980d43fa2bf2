"""IAM's data: roles with their trust policy, inline policies, and managed policies they attach.

Documents are kept as the text the caller sent (IAM returns them URL-encoded, as given);
`console.policy` parses and checks them. AWS managed policies are data in code
(`console/iam/managed.py`), not rows: attaching one stores its ARN.
"""
from __future__ import annotations

import secrets

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .. import arns
from ..models import Account

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def unique_id(prefix: str) -> str:
    """IAM's unique ids: a four-letter prefix naming the kind (AROA role, ANPA policy) and 17 more."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def new_role_id() -> str:
    return unique_id("AROA")


def new_policy_id() -> str:
    return unique_id("ANPA")


class Role(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=64)
    path = models.CharField(max_length=512, default="/")
    role_id = models.CharField(max_length=32, unique=True, default=new_role_id)
    assume_role_policy = models.TextField()  # the trust policy, as given
    description = models.CharField(max_length=1000, blank=True)
    max_session_duration = models.PositiveIntegerField(default=3600)
    tags = models.JSONField(default=list, blank=True)  # [{"Key": ..., "Value": ...}], in order
    created = models.DateTimeField(default=timezone.now)
    # Bumped by every change to the role's permissions: what caches of its policies key on.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        # IAM names are unique per account whatever their case.
        constraints = [models.UniqueConstraint("account", Lower("name"), name="unique_role_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return arns.build_arn("iam", f"role{self.path}{self.name}", account=self.account.account_id)


class RolePolicy(models.Model):
    """An inline policy: part of its role, gone with it."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="inline_policies")
    name = models.CharField(max_length=128)
    document = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint("role", Lower("name"), name="unique_role_policy_name")]
        ordering = ["name"]


class ManagedPolicy(models.Model):
    """A customer managed policy (CreatePolicy); AWS's own managed policies are in managed.py."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="managed_policies")
    name = models.CharField(max_length=128)
    path = models.CharField(max_length=512, default="/")
    policy_id = models.CharField(max_length=32, unique=True, default=new_policy_id)
    document = models.TextField()
    description = models.CharField(max_length=1000, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint("account", Lower("name"), name="unique_managed_policy_name")]
        ordering = ["name"]

    @property
    def arn(self) -> str:
        return arns.build_arn("iam", f"policy{self.path}{self.name}", account=self.account.account_id)


class RolePolicyAttachment(models.Model):
    """A managed policy (AWS's or the account's own) attached to a role, by ARN."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="attachments")
    policy_arn = models.CharField(max_length=2048)
    attached = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "policy_arn"], name="unique_role_attachment")]
        ordering = ["policy_arn"]
