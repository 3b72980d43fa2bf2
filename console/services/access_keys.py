"""Access keys for the Lambda API: created with their secret shown once, deactivated, deleted."""
from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from ..errors import ResourceNotFound
from ..models import AccessKey

SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# last_used is a hint for the Security credentials page, not an audit log: writing it on
# every request would put a database write on the Invoke path.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def access_key_create(user: AbstractBaseUser) -> tuple[AccessKey, str]:
    """A new active key of the user and its secret, which is not shown again."""
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(40))
    return AccessKey.objects.create(user=user, secret=secret), secret


def access_keys_of(user: AbstractBaseUser) -> list[AccessKey]:
    return list(AccessKey.objects.filter(user=user).order_by("created"))


def access_key_get(user: AbstractBaseUser, access_key_id: str) -> AccessKey:
    """The user's own key; anyone else's does not exist."""
    key = AccessKey.objects.filter(user=user, access_key_id=access_key_id).first()
    if key is None:
        raise ResourceNotFound(f"Access key not found: {access_key_id}", field="access_key_id")
    return key


def access_key_set_active(key: AccessKey, active: bool) -> AccessKey:
    key.active = active
    key.save(update_fields=["active"])
    return key


def access_key_delete(key: AccessKey) -> None:
    key.delete()


def access_key_for_signature(access_key_id: str) -> AccessKey | None:
    """The active key with this id, with its user and account loaded, or None."""
    return (AccessKey.objects.select_related("user__membership__account")
            .filter(access_key_id=access_key_id, active=True, user__is_active=True).first())


def access_key_touch(key: AccessKey) -> None:
    """Record a use, at most once per LAST_USED_RESOLUTION (one conditional update)."""
    now = timezone.now()
    if key.last_used is not None and now - key.last_used < LAST_USED_RESOLUTION:
        return
    AccessKey.objects.filter(pk=key.pk).filter(
        Q(last_used__isnull=True) | Q(last_used__lt=now - LAST_USED_RESOLUTION)).update(last_used=now)
