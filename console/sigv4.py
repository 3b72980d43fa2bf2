"""The one SigV4 check of every AWS API served here (Lambda, IAM, STS, and the services to come).

A request is signed either with a user's access key (which acts as its account's
administrator) or with a role session's temporary credentials (key id ASIA..., plus the
session token in `X-Amz-Security-Token`, opened by `console.sts.sessions`); either way the
caller is a `Principal`. Errors carry Lambda's code (`code`) and the code query-protocol
services (IAM, STS, SNS) answer with (`query_code`).

The request is rebuilt as the client signed it (method, raw path, query string, the signed
headers, body, X-Amz-Date) and signed again with the key's secret through
`botocore.auth.SigV4Auth`; the signatures are compared in constant time. Nothing here
re-implements the HMAC chain.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.db import connection
from django.http import HttpRequest

from .errors import LambdaError
from .models import Account, AccessKey
from .services.access_keys import access_key_for_signature, access_key_touch
from .services.accounts import account_for_user
from .sts import sessions

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = dt.timedelta(minutes=5)
SERVICE = "lambda"
SECURITY_TOKEN = "X-Amz-Security-Token"
CONTENT_SHA256 = "x-amz-content-sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$")


class AuthError(LambdaError):
    status = 403
    query_code = "AccessDenied"


class MissingAuthenticationToken(AuthError):
    code = "MissingAuthenticationTokenException"
    query_code = "MissingAuthenticationToken"


class IncompleteSignature(AuthError):
    code = "IncompleteSignatureException"
    query_code = "IncompleteSignature"


class UnrecognizedClient(AuthError):
    code = "UnrecognizedClientException"
    query_code = "InvalidClientTokenId"


class InvalidSignature(AuthError):
    code = "InvalidSignatureException"
    query_code = "SignatureDoesNotMatch"


class ExpiredToken(AuthError):
    code = "ExpiredTokenException"
    query_code = "ExpiredToken"


@dataclass(frozen=True)
class Principal:
    """Who signed a request: a user's access key, or a role session; and the account it acts in."""

    account: Account
    key: AccessKey | None = None
    session: sessions.Session | None = None

    @property
    def is_role(self) -> bool:
        return self.session is not None

    @property
    def arn(self) -> str:
        if self.session is not None:
            return self.session.assumed_role_arn
        return f"arn:aws:iam::{self.account.account_id}:user/{self.key.user.get_username() if self.key else 'root'}"

    @property
    def access_key_id(self) -> str:
        return self.session.access_key_id if self.session is not None else (self.key.access_key_id if self.key else "")


Caller = Principal  # the name the Lambda API's code knew it by


def authenticate(request: HttpRequest, now: dt.datetime | None = None, service: str = SERVICE) -> Principal:
    """Who signed this request for `service`, and the account it acts for; raise a 403 error otherwise."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise MissingAuthenticationToken("Missing Authentication Token")
    match = _AUTH_RE.match(header)
    if match is None:
        raise IncompleteSignature(
            f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
            f"of the {ALGORITHM} algorithm.")
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise IncompleteSignature(f"Credential must have the form <key>/<date>/<region>/{SERVICE}/aws4_request.")
    access_key_id, scope_date, region, _service, _ = parts
    amz_date = request.headers.get("X-Amz-Date", "")
    try:
        signed_at = dt.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise IncompleteSignature("Authorization header requires existence of a valid 'X-Amz-Date' header.")
    now = now or dt.datetime.now(dt.timezone.utc)
    if signed_at < now - MAX_SKEW:
        raise InvalidSignature(
            f"Signature expired: {amz_date} is now earlier than {(now - MAX_SKEW).strftime(AMZ_DATE_FORMAT)} "
            f"({now.strftime(AMZ_DATE_FORMAT)} - 5 min.)")
    if signed_at > now + MAX_SKEW:
        raise InvalidSignature(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime(AMZ_DATE_FORMAT)} ({now.strftime(AMZ_DATE_FORMAT)} + 5 min.)")
    if parts[3] != service:
        raise InvalidSignature(f"Credential should be scoped to correct service: '{service}'.")
    if scope_date != amz_date[:8]:
        raise InvalidSignature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
    signed = match["signed"].split(";")
    token = request.headers.get(SECURITY_TOKEN)
    if token is not None:
        session = _session(token, access_key_id, now)
        secret = session.secret_access_key
    else:
        session, key = None, access_key_for_signature(access_key_id)
        if key is None:
            raise UnrecognizedClient("The security token included in the request is invalid.")
        secret = key.secret
    expected = _signature(request, access_key_id, secret, token, service, region, amz_date, signed)
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")
    if service != "s3":  # S3 checks the payload as it streams it (console/s3/wire/body.py)
        check_payload_hash(request, signed)
    if session is not None:
        account = account_of_session(session)
        if account is None:
            raise UnrecognizedClient("The security token included in the request is invalid.")
        return Principal(account, session=session)
    access_key_touch(key)
    membership = getattr(key.user, "membership", None)  # loaded with the key
    return Principal(membership.account if membership is not None else account_for_user(key.user), key=key)


def signing_secret(access_key_id: str, token: str | None,
                   now: dt.datetime) -> tuple[str, sessions.Session | None, AccessKey | None]:
    """The secret `access_key_id` signs with, and its session or key (for signatures checked elsewhere:
    S3's presigned URLs and Signature Version 2, console/s3/wire/presigned.py)."""
    if token is not None:
        session = _session(token, access_key_id, now)
        return session.secret_access_key, session, None
    key = access_key_for_signature(access_key_id)
    if key is None:
        raise UnrecognizedClient("The security token included in the request is invalid.")
    return key.secret, None, key


def principal_of(session: sessions.Session | None, key: AccessKey | None) -> Principal:
    """The Principal of a checked signature (as `authenticate` makes it)."""
    if session is not None:
        account = account_of_session(session)
        if account is None:
            raise UnrecognizedClient("The security token included in the request is invalid.")
        return Principal(account, session=session)
    access_key_touch(key)
    membership = getattr(key.user, "membership", None)
    return Principal(membership.account if membership is not None else account_for_user(key.user), key=key)


def _session(token: str, access_key_id: str, now: dt.datetime) -> sessions.Session:
    try:
        return sessions.open_token(token, access_key_id, now)
    except sessions.ExpiredSessionToken as exc:
        raise ExpiredToken(str(exc))
    except sessions.InvalidSessionToken as exc:
        raise UnrecognizedClient(str(exc))


# Sessions name their account by id; the row is cached by (id, primary key), and one indexed
# one-column query per request tells a cached row from a deleted and re-created account's.
_accounts: dict[tuple[str, int], Account] = {}


def account_of_session(session: sessions.Session) -> Account | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Account._meta.db_table} WHERE account_id = %s", [session.account_id])
        row = cursor.fetchone()
    if row is None:
        return None
    account = _accounts.get((session.account_id, row[0]))
    if account is None:
        account = Account.objects.filter(pk=row[0]).first()
        if account is not None:
            if len(_accounts) > 10000:
                _accounts.clear()
            _accounts[(session.account_id, row[0])] = account
    return account


def check_payload_hash(request: HttpRequest, signed: list[str]) -> None:
    """A signed x-amz-content-sha256 must be the body's own hash.

    botocore's canonical request takes that header's value as the payload hash, so the
    signature covers the header, not the body: without this check a captured request could
    be replayed, within the clock skew, with another body (say another zip). AWS answers a
    mismatch as S3 does (XAmzContentSHA256Mismatch); Lambda speaks restJson, where a
    signature that does not hold is InvalidSignatureException, 403 (IAM's "Troubleshoot
    Signature Version 4 signing" page). aws-chunked uploads (STREAMING-*) carry a signature
    per chunk that this API does not verify, so they are refused.
    """
    if CONTENT_SHA256 not in signed:
        return  # the signer hashed the body itself: the signature already covers it
    claimed = request.headers.get(CONTENT_SHA256, "")
    if claimed == UNSIGNED_PAYLOAD:
        return
    if claimed.upper().startswith("STREAMING-"):
        raise InvalidSignature(
            f"The {CONTENT_SHA256} value {claimed} asks for an aws-chunked upload, which this API does not accept. "
            "Send the body in one piece, signed with its SHA-256.")
    actual = hashlib.sha256(request.body).hexdigest()
    if not hmac.compare_digest(claimed.lower().encode(), actual.encode()):
        raise InvalidSignature(f"The provided '{CONTENT_SHA256}' header does not match what was computed.")


def _raw_path(request: HttpRequest) -> str:
    # The client signed the path as it sent it, percent-encoding included; Daphne keeps those
    # bytes in the ASGI scope, while request.path has been decoded.
    scope = getattr(request, "scope", None) or {}
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(request.path, safe="/-_.~")


def _signature(request: HttpRequest, access_key_id: str, secret: str, token: str | None, service: str,
               region: str, amz_date: str, signed: list[str]) -> str:
    headers = {}
    for name in signed:
        value = request.headers.get(name)
        if value is None and name == "host":
            value = request.get_host()
        if value is None:
            raise InvalidSignature(f"The header {name} is signed but missing from the request.")
        headers[name] = value
    query = request.META.get("QUERY_STRING", "")
    url = f"{request.scheme}://{headers.get('host') or request.get_host()}{_raw_path(request)}"
    aws_request = AWSRequest(method=request.method, url=url + (f"?{query}" if query else ""),
                             headers=headers, data=request.body)
    aws_request.context["timestamp"] = amz_date
    # The token is a signed header like any other (botocore adds it before signing); passing
    # it here too would make the signer add it a second time.
    # S3's canonical path is the path as sent (not normalised) and its payload hash is always
    # the x-amz-content-sha256 header's value: botocore's S3 signer does both.
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(Credentials(access_key_id, secret), service, region)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
