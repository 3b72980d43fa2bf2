"""Temporary credentials of a role session, carried whole in their session token.

A session token is a Fernet token (AES and HMAC under the project's encryption keys)
sealing the session: its access key id, secret, account, role ARN, session name and expiry.
Nothing is stored: the SigV4 check opens the token a request carries, checks that the key
id it signed with is the token's own, and verifies the signature with the sealed secret.
A token cannot be forged or altered without the key, and an expired one is refused.
Minting is cheap enough (about 0.1 ms) to do at every execution environment's start.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

from cryptography.fernet import InvalidToken as FernetInvalidToken

from ..fields import fernet

TOKEN_VERSION = 1
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class InvalidSessionToken(Exception):
    """Not a token of ours, altered, or not the one of the access key id that signed."""


class ExpiredSessionToken(Exception):
    """A genuine token past its expiry."""


@dataclass(frozen=True)
class Session:
    access_key_id: str  # ASIA...: AWS's prefix for temporary credentials
    secret_access_key: str
    session_token: str
    account_id: str
    role_arn: str  # arn:aws:iam::<account>:role/<path><name>
    session_name: str
    expiration: dt.datetime  # aware, UTC

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def assumed_role_arn(self) -> str:
        """What STS names the caller: arn:aws:sts::<account>:assumed-role/<role>/<session>."""
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session_name}"


def mint(account_id: str, role_arn: str, session_name: str, ttl: dt.timedelta,
         now: dt.datetime | None = None) -> Session:
    """New temporary credentials for `role_arn`, valid for `ttl` from now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    expiration = (now + ttl).replace(microsecond=0)
    access_key_id = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    sealed = {"v": TOKEN_VERSION, "k": access_key_id, "s": secret, "a": account_id, "r": role_arn,
              "n": session_name, "e": int(expiration.timestamp())}
    token = fernet().encrypt(json.dumps(sealed, separators=(",", ":")).encode()).decode()
    return Session(access_key_id, secret, token, account_id, role_arn, session_name, expiration)


def open_token(token: str, access_key_id: str, now: dt.datetime | None = None) -> Session:
    """The session a token seals, if it is genuine, belongs to `access_key_id` and has not expired."""
    try:
        sealed = json.loads(fernet().decrypt(token.encode("ascii")))
    except (FernetInvalidToken, UnicodeEncodeError, ValueError):
        raise InvalidSessionToken("The security token included in the request is invalid.")
    if not isinstance(sealed, dict) or sealed.get("v") != TOKEN_VERSION or sealed.get("k") != access_key_id:
        raise InvalidSessionToken("The security token included in the request is invalid.")
    expiration = dt.datetime.fromtimestamp(sealed["e"], dt.timezone.utc)
    if (now or dt.datetime.now(dt.timezone.utc)) >= expiration:
        raise ExpiredSessionToken("The security token included in the request is expired")
    return Session(sealed["k"], sealed["s"], token, sealed["a"], sealed["r"], sealed["n"], expiration)
