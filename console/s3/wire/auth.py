"""Who sent an S3 request: the one SigV4 check (console/sigv4.py), answered in S3's error codes.

Header-signed SigV4 requests are checked here; the payload's hash is checked as the body
streams (body.py). Presigned URLs (SigV4 `X-Amz-*` query, and Signature Version 2's
`AWSAccessKeyId`/`Signature`/`Expires`, which boto3's generate_presigned_url still makes by
default) and SigV2 `Authorization: AWS key:signature` headers are checked by `presigned.py`.
"""
from __future__ import annotations

import io

from django.core.handlers.asgi import ASGIRequest

from ... import sigv4
from . import errors, presigned
from .request import S3Request

_PRESIGNED_V4 = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires",
                 "X-Amz-SignedHeaders")
_CODES: dict[type, type[errors.S3Error]] = {
    sigv4.MissingAuthenticationToken: errors.AccessDenied,
    sigv4.IncompleteSignature: errors.AuthorizationHeaderMalformed,
    sigv4.UnrecognizedClient: errors.InvalidAccessKeyId,
    sigv4.InvalidSignature: errors.SignatureDoesNotMatch,
    sigv4.ExpiredToken: errors.ExpiredToken,
}


def s3_error(exc: sigv4.AuthError) -> errors.S3Error:
    """The S3 error for a failed check, with S3's wording where the SigV4 message is another service's."""
    cls = _CODES.get(type(exc), errors.AccessDenied)
    message = str(exc)
    if cls is errors.SignatureDoesNotMatch and ("expired" in message or "not yet current" in message):
        return errors.RequestTimeTooSkewed()
    if cls in (errors.SignatureDoesNotMatch, errors.InvalidAccessKeyId, errors.ExpiredToken):
        return cls()
    return cls(message)


def django_request(req: S3Request) -> ASGIRequest:
    """The request as console.sigv4 reads it; the body is not needed (S3 signs its hash in a header)."""
    request = ASGIRequest(req.scope, io.BytesIO(b""))
    # The body streams later (body.py): Django must not hold this empty stand-in against the
    # Content-Length (over DATA_UPLOAD_MAX_MEMORY_SIZE, a single 100 MB PUT failed with a 500).
    request._body = b""
    return request


def authenticate(req: S3Request) -> sigv4.Principal:
    """The caller, or an S3Error. Runs in a worker thread (it reads the database)."""
    authorization = req.headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256") and (
            authorization.startswith("AWS ") or "Signature" in req.query
            or any(name in req.query for name in _PRESIGNED_V4)):
        return presigned.authenticate(req)
    if not authorization:
        raise errors.AccessDenied()  # anonymous: no bucket here is public
    try:
        principal = sigv4.authenticate(django_request(req), service="s3")
    except sigv4.AuthError as exc:
        raise s3_error(exc)
    req.auth_info["signing"] = "header"
    if req.headers.get("x-amz-content-sha256", "").upper().startswith("STREAMING-AWS4-HMAC-SHA256"):
        req.auth_info.update(chunk_signing(req, principal, authorization))
    return principal


def chunk_signing(req: S3Request, principal: sigv4.Principal, authorization: str) -> dict[str, str]:
    """What chunked.py needs to check a signed aws-chunked body: the seed signature (the header's),
    the credential scope and the secret the chunks are signed with."""
    match = sigv4._AUTH_RE.match(authorization)
    access_key, _date, region, _service, _ = match["credential"].split("/")
    secret = principal.session.secret_access_key if principal.session is not None else principal.key.secret
    return {"seed": match["signature"], "access_key": access_key, "region": region,
            "amz_date": req.headers.get("x-amz-date", ""), "secret": secret}
