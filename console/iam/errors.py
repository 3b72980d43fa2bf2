"""IAM's errors, with the codes and statuses of IAM's API reference (and botocore's IAM model).

They are `LambdaError`s so that the console shows `message` beside `field` as for any other
rule; the query protocol (`console.awsquery`) answers with `query_code` and `status`.
"""
from __future__ import annotations

from ..errors import LambdaError


class IamError(LambdaError):
    code = query_code = "ServiceFailure"
    status = 500


class NoSuchEntity(IamError):
    code = query_code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(IamError):
    code = query_code = "EntityAlreadyExists"
    status = 409


class MalformedPolicyDocument(IamError):
    code = query_code = "MalformedPolicyDocument"
    status = 400


class DeleteConflict(IamError):
    code = query_code = "DeleteConflict"
    status = 409


class LimitExceeded(IamError):
    code = query_code = "LimitExceeded"
    status = 409


class InvalidInput(IamError):
    code = query_code = "InvalidInput"
    status = 400


class ValidationError(IamError):
    """A value outside the model's constraints ("1 validation error detected: ...")."""

    code = query_code = "ValidationError"
    status = 400


def validation_error(value: object, where: str, constraint: str, field: str | None = None) -> ValidationError:
    """AWS's message for one value that breaks one constraint of the API's model."""
    shown = "null" if value is None else f"'{value}'"
    return ValidationError(f"1 validation error detected: Value {shown} at '{where}' failed to satisfy constraint: "
                           f"Member must {constraint}", field=field)
