"""Function URLs: creating, changing and removing the HTTP endpoint of a function or alias."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..arns import alias_exists, is_latest, is_version
from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..models import Account, Function, FunctionUrlConfig
from ..validators import validate_cors

INVOKE_MODES = ("BUFFERED",)  # RESPONSE_STREAM is not served yet


def _check_owner(account: Account, function: Function) -> None:
    # Another account's function does not exist, whoever asks.
    if function.account_id != account.pk:
        raise ResourceNotFound(f"Function not found: {function.name}", field="FunctionName")


def _clean_qualifier(function: Function, qualifier: str | None) -> str:
    """"" (the unqualified function) or an existing alias, as AWS allows for function URLs."""
    if is_latest(qualifier):
        return ""
    assert qualifier is not None
    if is_version(qualifier):
        raise InvalidParameterValue("A function URL can point to the function or to an alias, not a version.",
                                    field="Qualifier")
    if not alias_exists(function, qualifier):
        raise ResourceNotFound(f"Function not found: {function.arn}:{qualifier}", field="Qualifier")
    return qualifier


def _clean_auth_type(auth_type: str) -> str:
    if auth_type not in FunctionUrlConfig.AuthType.values:
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{auth_type}' at 'authType' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [AWS_IAM, NONE]", field="AuthType")
    return auth_type


def _clean_invoke_mode(mode: str) -> str:
    if mode not in INVOKE_MODES:
        raise InvalidParameterValue(f"InvokeMode must be one of {', '.join(INVOKE_MODES)}.", field="InvokeMode")
    return mode


def function_url_create(account: Account, function: Function, *, auth_type: str, cors: dict | None = None,
                        qualifier: str | None = None, invoke_mode: str = "BUFFERED") -> FunctionUrlConfig:
    _check_owner(account, function)
    qualifier = _clean_qualifier(function, qualifier)
    config = FunctionUrlConfig(function=function, qualifier=qualifier, auth_type=_clean_auth_type(auth_type),
                               cors=validate_cors(cors), invoke_mode=_clean_invoke_mode(invoke_mode))
    if FunctionUrlConfig.objects.filter(function=function, qualifier=qualifier).exists():
        raise ResourceConflict(f"Failed to create function url config for [functionArn = {config.function_arn}]. "
                               f"Error message:  FunctionUrlConfig exists for this Lambda function")
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:  # a concurrent create won
        raise ResourceConflict(f"FunctionUrlConfig exists for this Lambda function: {config.function_arn}")
    return config


def function_url_get(account: Account, function: Function, qualifier: str | None = None) -> FunctionUrlConfig:
    _check_owner(account, function)
    config = (FunctionUrlConfig.objects.select_related("function__account")
              .filter(function=function, qualifier="" if is_latest(qualifier) else qualifier).first())
    if config is None:
        raise ResourceNotFound("The resource you requested does not exist.", field="FunctionName")
    return config


def function_urls_list(account: Account, function: Function) -> list[FunctionUrlConfig]:
    _check_owner(account, function)
    return list(FunctionUrlConfig.objects.filter(function=function).order_by("created"))


def function_url_update(config: FunctionUrlConfig, *, auth_type: str | None = None, cors: dict | None = None,
                        invoke_mode: str | None = None) -> FunctionUrlConfig:
    """Change what is given; None leaves a setting as it is ({} clears CORS)."""
    if auth_type is not None:
        config.auth_type = _clean_auth_type(auth_type)
    if cors is not None:
        config.cors = validate_cors(cors)
    if invoke_mode is not None:
        config.invoke_mode = _clean_invoke_mode(invoke_mode)
    config.last_modified = timezone.now()
    config.save()
    return config


def function_url_delete(config: FunctionUrlConfig) -> None:
    config.delete()


def function_url_for_id(url_id: str) -> FunctionUrlConfig | None:
    """The config serving this URL id, its function and account loaded (the serving path)."""
    return FunctionUrlConfig.objects.select_related("function__account").filter(url_id=url_id).first()
