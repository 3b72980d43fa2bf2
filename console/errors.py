"""Typed errors in AWS Lambda's vocabulary.

Services raise these; the console shows `message` beside `field`, and the API turns them
into AWS's error shape (type, message, HTTP status) in one place.
"""
from __future__ import annotations


class LambdaError(Exception):
    code = "ServiceException"
    status = 500

    def __init__(self, message: str, field: str | None = None, **extra: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class InvalidParameterValue(LambdaError):
    code = "InvalidParameterValueException"
    status = 400


class InvalidRequestContent(LambdaError):
    code = "InvalidRequestContentException"
    status = 400


class RequestTooLarge(LambdaError):
    code = "RequestTooLargeException"
    status = 413


class ResourceNotFound(LambdaError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflict(LambdaError):
    code = "ResourceConflictException"
    status = 409


class TooManyRequests(LambdaError):
    code = "TooManyRequestsException"
    status = 429


class CodeStorageExceeded(LambdaError):
    code = "CodeStorageExceededException"
    status = 400


class ServiceError(LambdaError):
    code = "ServiceException"
    status = 500


class PreconditionFailed(LambdaError):
    """A RevisionId that no longer matches: someone changed the resource in between."""

    code = "PreconditionFailedException"
    status = 412
