"""S3 requests signed in the query string, or with Signature Version 2.

- SigV4 query auth (S3 API reference, "Authenticating Requests: Using Query Parameters (AWS
  Signature Version 4)"): X-Amz-Algorithm, -Credential, -Date, -Expires (1 s to 7 days),
  -SignedHeaders, -Signature, and -Security-Token for a role session; the payload is
  UNSIGNED-PAYLOAD. boto3 makes these with `signature_version="s3v4"`.
- Signature Version 2 (S3 User Guide, "Signing and authenticating REST requests"): query
  (AWSAccessKeyId, Signature, Expires in epoch seconds: what boto3's generate_presigned_url
  still makes by default) and the `Authorization: AWS <key>:<signature>` header.

Signatures are recomputed with botocore's own signers (S3SigV4QueryAuth's canonical request,
HmacV1Auth's string to sign) and compared in constant time. An expired URL is AccessDenied
"Request has expired" with the fields S3 adds (X-Amz-Expires, Expires, ServerTime).
"""
from __future__ import annotations

import datetime as dt
import hmac
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import HmacV1Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from ... import sigv4
from .errors import (AccessDenied, ExpiredToken, InvalidAccessKeyId, InvalidArgument, RequestTimeTooSkewed,
                     SignatureDoesNotMatch, error)
from .request import S3Request

MAX_EXPIRES = 7 * 24 * 3600  # 604800 s, S3's limit for SigV4 presigned URLs
MAX_SKEW = dt.timedelta(minutes=15)  # S3's allowance for a request's clock
V4_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                 "X-Amz-Expires")

AuthorizationQueryParametersError = error("AuthorizationQueryParametersError", 400,
                                          "Error parsing the query-string authentication parameters.")


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def authenticate(req: S3Request) -> sigv4.Principal:
    """The caller of a presigned or SigV2-signed request, or an S3Error. Runs in a worker thread."""
    authorization = req.headers.get("authorization", "")
    if authorization.startswith("AWS "):
        return _v2_header(req, authorization)
    if any(name in req.query for name in V4_PARAMETERS):
        return _v4_query(req)
    return _v2_query(req)


def _raw(req: S3Request) -> tuple[str, str]:
    """The path and query string as the client sent (and signed) them."""
    raw = (req.scope.get("raw_path") or req.scope.get("path", "/").encode()).decode("latin-1").split("?", 1)[0]
    return raw, req.scope.get("query_string", b"").decode("latin-1")


def _credentials(access_key_id: str, token: str | None, now: dt.datetime):
    try:
        return sigv4.signing_secret(access_key_id, token, now)
    except sigv4.ExpiredToken:
        raise ExpiredToken()
    except sigv4.AuthError:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key_id)


def _principal(session, key) -> sigv4.Principal:
    try:
        return sigv4.principal_of(session, key)
    except sigv4.AuthError:
        raise InvalidAccessKeyId()


# --- Signature Version 4, in the query string ------------------------------------------------

def _v4_query(req: S3Request) -> sigv4.Principal:
    query = req.query
    if any(name not in query for name in V4_PARAMETERS):
        raise AuthorizationQueryParametersError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
    if query["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise AuthorizationQueryParametersError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    amz_date = query["X-Amz-Date"]
    try:
        signed_at = dt.datetime.strptime(amz_date, sigv4.AMZ_DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    if expires < 0:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less "
            f"than {MAX_EXPIRES} seconds")
    parts = query["X-Amz-Credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3":
        raise AuthorizationQueryParametersError(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
    access_key_id, _scope_date, region, _service, _ = parts
    now = _now()
    if signed_at > now + MAX_SKEW:
        raise AccessDenied("Request is not yet valid", **{"X-Amz-Date": amz_date, "ServerTime": _iso(now)})
    if now > signed_at + dt.timedelta(seconds=expires):
        raise AccessDenied("Request has expired", **{
            "X-Amz-Expires": str(expires), "Expires": _iso(signed_at + dt.timedelta(seconds=expires)),
            "ServerTime": _iso(now)})
    token = query.get(sigv4.SECURITY_TOKEN)
    secret, session, key = _credentials(access_key_id, token, now)
    raw_path, raw_query = _raw(req)
    headers = {}
    for name in query["X-Amz-SignedHeaders"].lower().split(";"):
        value = req.headers.get(name)
        if value is None:
            raise AccessDenied("There were headers present in the request which were not signed",
                               HeadersNotSigned=name)
        headers[name] = value
    params = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != "X-Amz-Signature"]
    aws_request = AWSRequest(method=req.method, url=f"http://{req.headers.get('host', '')}{raw_path}",
                             headers=headers, params=params)
    aws_request.context["timestamp"] = amz_date
    signer = S3SigV4QueryAuth(Credentials(access_key_id, secret), "s3", region)
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    provided = query["X-Amz-Signature"]
    if not hmac.compare_digest(signer.signature(string_to_sign, aws_request), provided):
        raise SignatureDoesNotMatch(AWSAccessKeyId=access_key_id, StringToSign=string_to_sign,
                                    SignatureProvided=provided, CanonicalRequest=canonical)
    req.auth_info["signing"] = "query"
    return _principal(session, key)


# --- Signature Version 2 ----------------------------------------------------------------------

class _HmacV1(HmacV1Auth):
    """botocore's SigV2 string to sign, with the date line the request itself carries."""

    def __init__(self, credentials: Credentials, date: str) -> None:
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


def _v2_signature(req: S3Request, access_key_id: str, secret: str, date: str,
                  extra: dict[str, str]) -> tuple[str, str]:
    """(signature, string to sign) of the request; `extra` are headers the query carries (x-amz-*)."""
    headers = HTTPHeaders()
    for name, value in req.headers.items():
        if name in ("content-md5", "content-type") or name.startswith("x-amz-"):
            headers[name] = value
    for name, value in extra.items():
        if name not in req.headers:
            headers[name] = value
    raw_path, raw_query = _raw(req)
    split = urlsplit(f"http://host{raw_path}" + (f"?{raw_query}" if raw_query else ""))
    # The resource is /bucket/key whatever the addressing (virtual host: the bucket from the Host).
    auth_path = f"/{req.bucket}{raw_path}" if req.virtual_host else None
    signer = _HmacV1(Credentials(access_key_id, secret), date)
    string_to_sign = signer.canonical_string(req.method, split, headers, auth_path=auth_path)
    return signer.sign_string(string_to_sign), string_to_sign


def _check_v2(req: S3Request, access_key_id: str, provided: str, date: str, token: str | None,
              extra: dict[str, str], now: dt.datetime) -> sigv4.Principal:
    secret, session, key = _credentials(access_key_id, token, now)
    expected, string_to_sign = _v2_signature(req, access_key_id, secret, date, extra)
    if not hmac.compare_digest(expected.encode(), provided.encode()):
        raise SignatureDoesNotMatch(AWSAccessKeyId=access_key_id, StringToSign=string_to_sign,
                                    SignatureProvided=provided,
                                    StringToSignBytes=" ".join(f"{b:02x}" for b in string_to_sign.encode()))
    return _principal(session, key)


def _v2_query(req: S3Request) -> sigv4.Principal:
    query = req.query
    if not all(query.get(name) for name in ("AWSAccessKeyId", "Signature", "Expires")):
        raise AccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                           "parameters")
    now = _now()
    try:
        expires = dt.datetime.fromtimestamp(int(query["Expires"]), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise AccessDenied("Invalid date (should be seconds since epoch): " + query["Expires"])
    if now > expires:
        raise AccessDenied("Request has expired", Expires=_iso(expires), ServerTime=_iso(now))
    # botocore moves the signed x-amz-* headers (a session's token among them) into the query.
    extra = {name.lower(): value for name, value in query.items()
             if name.lower().startswith("x-amz-") or name.lower() in ("content-type", "content-md5")}
    token = req.headers.get("x-amz-security-token") or extra.get("x-amz-security-token")
    principal = _check_v2(req, query["AWSAccessKeyId"], query["Signature"], query["Expires"], token, extra, now)
    req.auth_info["signing"] = "query-v2"
    return principal


def _v2_header(req: S3Request, authorization: str) -> sigv4.Principal:
    access_key_id, sep, provided = authorization[4:].strip().rpartition(":")
    if not sep or not access_key_id or not provided:
        raise InvalidArgument("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                              ArgumentName="Authorization", ArgumentValue=authorization)
    now = _now()
    amz_date = req.headers.get("x-amz-date")
    stamp = amz_date or req.headers.get("date")
    if not stamp:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    try:
        signed_at = parsedate_to_datetime(stamp)
        if signed_at.tzinfo is None:
            signed_at = signed_at.replace(tzinfo=dt.timezone.utc)
    except (TypeError, ValueError):
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - signed_at) > MAX_SKEW:
        raise RequestTimeTooSkewed(RequestTime=stamp, ServerTime=_iso(now),
                                   MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)))
    # With x-amz-date the Date line of the string to sign is empty (the x-amz-date header is signed).
    date_line = "" if amz_date else stamp
    principal = _check_v2(req, access_key_id, provided, date_line, req.headers.get("x-amz-security-token"), {}, now)
    req.auth_info["signing"] = "header-v2"
    return principal

