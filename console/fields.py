"""Model fields that keep secrets encrypted at rest."""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

TOKEN_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    # A configured Fernet key is used as is; anything else (the default: SECRET_KEY) is
    # stretched into one, so the key never has to be managed separately on a single host.
    try:
        return Fernet(key.encode())
    except ValueError:
        digest = hashlib.sha256(("lambda-encryption:" + key).encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def fernet() -> Fernet:
    return _fernet(settings.LAMBDA_ENCRYPTION_KEY or settings.SECRET_KEY)


def encrypt_json(value: Any) -> str:
    return TOKEN_PREFIX + fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(stored: str) -> Any:
    if stored.startswith(TOKEN_PREFIX):
        try:
            return json.loads(fernet().decrypt(stored[len(TOKEN_PREFIX):].encode()))
        except InvalidToken:
            raise ValueError("cannot decrypt a stored value: was LAMBDA_ENCRYPTION_KEY or SECRET_KEY changed?")
    # Rows written before encryption was introduced hold plain JSON.
    return json.loads(stored) if stored else {}


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
