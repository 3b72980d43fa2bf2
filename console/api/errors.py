"""The one place where typed errors become AWS Lambda's error responses.

Lambda speaks restJson: the error code travels in the `x-amzn-ErrorType` header (which
botocore reads first), the body is `{"Type": "User" | "Service", "message": ...}` plus the
error's modeled fields (TooManyRequestsException's `Reason`).
"""
from __future__ import annotations

import json
import logging
import uuid

from django.http import HttpResponse

from ..errors import LambdaError, ServiceError

logger = logging.getLogger(__name__)


def json_response(data: dict | None, status: int = 200, request_id: str | None = None) -> HttpResponse:
    body = b"" if data is None else json.dumps(data, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    response["x-amzn-RequestId"] = request_id or str(uuid.uuid4())
    return response


def error_response(exc: LambdaError, request_id: str | None = None) -> HttpResponse:
    # Every refused request is logged once, here, whatever refused it (SigV4, validation, throttling).
    if exc.status < 500:
        logger.info("Lambda API request %s refused: %d %s: %s", request_id or "-", exc.status, exc.code, exc.message)
    body = {"Type": "Service" if exc.status >= 500 else "User", "message": exc.message, **exc.extra}
    response = json_response(body, exc.status, request_id)
    response["x-amzn-ErrorType"] = exc.code
    return response


def unexpected_error_response(exc: BaseException, request_id: str) -> HttpResponse:
    """A 500 that says nothing of the cause; the traceback goes to the server's log only."""
    logger.error("Lambda API request %s failed", request_id, exc_info=exc)
    return error_response(ServiceError(f"An internal error occurred. Request ID: {request_id}"), request_id)
