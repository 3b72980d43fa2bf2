"""Model fields that keep secrets encrypted at rest."""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

TOKEN_PREFIX = "fernet:"


def _as_fernet(key: str) -> Fernet:
    # A configured Fernet key is used as is; anything else (SECRET_KEY, or a legacy
    # LAMBDA_ENCRYPTION_KEY that is not a Fernet key) is stretched into one, so the key
    # never has to be managed separately on a single host.
    try:
        return Fernet(key.encode())
    except ValueError:
        digest = hashlib.sha256(("lambda-encryption:" + key).encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def encryption_keys() -> tuple[str, ...]:
    """The keys in use, newest first: values are encrypted with the first, read with any.

    LAMBDA_ENCRYPTION_KEYS comes first; the older single LAMBDA_ENCRYPTION_KEY and the key
    derived from SECRET_KEY stay last, so values written before either was set remain
    readable until `manage.py rotate_encryption_keys` re-encrypts them.
    """
    keys = [*settings.LAMBDA_ENCRYPTION_KEYS, settings.LAMBDA_ENCRYPTION_KEY, settings.SECRET_KEY]
    return tuple(dict.fromkeys(key for key in keys if key))


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_as_fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _multi_fernet(encryption_keys())


def encrypt_json(value: Any) -> str:
    return TOKEN_PREFIX + fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(stored: str) -> Any:
    if stored.startswith(TOKEN_PREFIX):
        try:
            return json.loads(fernet().decrypt(stored[len(TOKEN_PREFIX):].encode()))
        except InvalidToken:
            raise ValueError("cannot decrypt a stored value: is its key missing from LAMBDA_ENCRYPTION_KEYS?")
    # Rows written before encryption was introduced hold plain JSON.
    return json.loads(stored) if stored else {}


def rotate_token(stored: str) -> str | None:
    """`stored` re-encrypted with the newest key, or None when it already is."""
    if not stored.startswith(TOKEN_PREFIX):
        return encrypt_json(json.loads(stored) if stored else {})  # plain JSON from before encryption
    token = stored[len(TOKEN_PREFIX):].encode()
    keys = encryption_keys()
    try:
        _as_fernet(keys[0]).decrypt(token)
        return None
    except InvalidToken:
        pass
    try:
        return TOKEN_PREFIX + fernet().rotate(token).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt a stored value: is its key missing from LAMBDA_ENCRYPTION_KEYS?")


def seal_json(value: Any) -> str:
    """A JSON value as a bare Fernet token, for a message that must neither be read nor forged."""
    return fernet().encrypt(json.dumps(value).encode()).decode()


def unseal_json(token: str) -> Any:
    """The value `seal_json` sealed; InvalidToken when it was not sealed with one of our keys."""
    return json.loads(fernet().decrypt(token.encode()))


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token; Python code sees the plain value."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None:
            return value
        return decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return decrypt_json(value)
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_json(value)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
