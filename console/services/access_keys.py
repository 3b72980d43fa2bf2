"""Access keys for the Lambda API: created with their secret shown once, deactivated, deleted."""
from __future__ import annotations

import datetime as dt
import secrets
import time

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
    _forget(key.access_key_id)
    return key


def access_key_delete(key: AccessKey) -> None:
    _forget(key.access_key_id)
    key.delete()


# Keys looked up for signatures are kept for a few seconds: every API call needs one, and
# a database read plus a decryption per call is most of what the API costs besides the
# invocation. A change made through this process takes effect at once; one made elsewhere
# takes up to KEY_CACHE_SECONDS, as AWS's own key changes take a few seconds to apply.
KEY_CACHE_SECONDS = 5.0
_key_cache: dict[str, tuple[float, AccessKey | None]] = {}


def access_key_for_signature(access_key_id: str) -> AccessKey | None:
    """The active key with this id, with its user and account loaded, or None."""
    now = time.monotonic()
    cached = _key_cache.get(access_key_id)
    if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    key = (AccessKey.objects.select_related("user__membership__account")
           .filter(access_key_id=access_key_id, active=True, user__is_active=True).first())
    if len(_key_cache) > 10000:
        _key_cache.clear()
    _key_cache[access_key_id] = (now, key)
    return key


def _forget(access_key_id: str) -> None:
    _key_cache.pop(access_key_id, None)


def access_key_touch(key: AccessKey) -> None:
    """Record a use, at most once per LAST_USED_RESOLUTION (one conditional update)."""
    now = timezone.now()
    if key.last_used is not None and now - key.last_used < LAST_USED_RESOLUTION:
        return
    AccessKey.objects.filter(pk=key.pk).filter(
        Q(last_used__isnull=True) | Q(last_used__lt=now - LAST_USED_RESOLUTION)).update(last_used=now)
    # The key may be access_key_for_signature's cached instance: without this, every request
    # signed with it would run the UPDATE again until the cache expires.
    key.last_used = now
