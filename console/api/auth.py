"""SigV4 verification of API requests with botocore's own signer.

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

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.http import HttpRequest

from ..errors import LambdaError
from ..models import Account, AccessKey
from ..services.access_keys import access_key_for_signature, access_key_touch
from ..services.accounts import account_for_user

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = dt.timedelta(minutes=5)
SERVICE = "lambda"
CONTENT_SHA256 = "x-amz-content-sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$")


class MissingAuthenticationToken(LambdaError):
    code = "MissingAuthenticationTokenException"
    status = 403


class IncompleteSignature(LambdaError):
    code = "IncompleteSignatureException"
    status = 403


class UnrecognizedClient(LambdaError):
    code = "UnrecognizedClientException"
    status = 403


class InvalidSignature(LambdaError):
    code = "InvalidSignatureException"
    status = 403


@dataclass(frozen=True)
class Caller:
    key: AccessKey
    account: Account


def authenticate(request: HttpRequest, now: dt.datetime | None = None) -> Caller:
    """The key that signed this request and the account it acts for; raise a 403 error otherwise."""
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
    access_key_id, scope_date, region, service, _ = parts
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
    if service != SERVICE:
        raise InvalidSignature(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if scope_date != amz_date[:8]:
        raise InvalidSignature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
    key = access_key_for_signature(access_key_id)
    if key is None:
        raise UnrecognizedClient("The security token included in the request is invalid.")
    expected = _signature(request, key, region, amz_date, match["signed"].split(";"))
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")
    check_payload_hash(request, match["signed"].split(";"))
    access_key_touch(key)
    membership = getattr(key.user, "membership", None)  # loaded with the key
    return Caller(key, membership.account if membership is not None else account_for_user(key.user))


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


def _signature(request: HttpRequest, key: AccessKey, region: str, amz_date: str, signed: list[str]) -> str:
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
    signer = SigV4Auth(Credentials(key.access_key_id, key.secret), SERVICE, region)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
