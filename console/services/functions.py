"""Creating, changing and removing functions."""
from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import arns, validators
from ..codestore import store_zip
from ..errors import CodeStorageExceeded, InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..limits import CODE_STORAGE_LIMIT
from ..models import Account, Function, PackageType, State, Version
from ..iam.services import role_for_lambda
from .concurrency import reservation_set
from .images import image_check

CONFIG_FIELDS = ("description", "memory_size", "timeout", "ephemeral_storage", "environment",
                 "handler", "runtime", "image_config", "role")


def account_code_usage(account: Account) -> int:
    """Bytes of deployment packages the account keeps: $LATEST of each function and every version."""
    functions = Function.objects.filter(account=account).aggregate(total=Sum("code_size"))["total"] or 0
    versions = Version.objects.filter(function__account=account).aggregate(total=Sum("code_size"))["total"] or 0
    return functions + versions


def _check_code_storage(account: Account, size: int) -> None:
    if account_code_usage(account) + size > CODE_STORAGE_LIMIT:
        raise CodeStorageExceeded(f"Code storage limit exceeded: the account may keep {CODE_STORAGE_LIMIT} "
                                  "bytes of code. Delete unused functions or versions.", field="ZipFile")


def function_get(account: Account, name: str) -> Function:
    """The account's function by name; another account's function does not exist."""
    try:
        return Function.objects.select_related("account").get(account=account, name=name)
    except Function.DoesNotExist:
        raise ResourceNotFound(f"Function not found: {arns.function_arn(account.account_id, name)}",
                               field="FunctionName")


def _clean_config(values: dict[str, Any], package_type: str, runtime: str) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "description" in values:
        description = values["description"] or ""
        if len(description) > 256:
            raise InvalidParameterValue("Description must be at most 256 characters.", field="Description")
        clean["description"] = description
    if "memory_size" in values:
        clean["memory_size"] = validators.validate_memory(values["memory_size"])
    if "timeout" in values:
        clean["timeout"] = validators.validate_timeout(values["timeout"])
    if "ephemeral_storage" in values:
        clean["ephemeral_storage"] = validators.validate_ephemeral_storage(values["ephemeral_storage"])
    if "environment" in values:
        clean["environment"] = validators.validate_environment(values["environment"] or {})
    if package_type == PackageType.ZIP:
        if "runtime" in values:
            runtime = clean["runtime"] = validators.validate_runtime(values["runtime"])
        if "handler" in values:
            clean["handler"] = validators.validate_handler(values["handler"], runtime)
    if "image_config" in values:
        clean["image_config"] = _validate_image_config(values["image_config"] or {})
    return clean


def _validate_image_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict) or set(config) - {"EntryPoint", "Command", "WorkingDirectory"}:
        raise InvalidParameterValue("ImageConfig takes EntryPoint, Command and WorkingDirectory.", field="ImageConfig")
    for key in ("EntryPoint", "Command"):
        if key in config and not (isinstance(config[key], list) and all(isinstance(p, str) for p in config[key])):
            raise InvalidParameterValue(f"ImageConfig.{key} must be a list of strings.", field="ImageConfig")
    if "WorkingDirectory" in config and not isinstance(config["WorkingDirectory"], str):
        raise InvalidParameterValue("ImageConfig.WorkingDirectory must be a string.", field="ImageConfig")
    return dict(config)


def function_create(
    account: Account,
    name: str,
    *,
    runtime: str = "",
    handler: str = "",
    zip_file: bytes | None = None,
    package_type: str = PackageType.ZIP,
    image_uri: str = "",
    role: str = "",
    **config: Any,
) -> Function:
    """Validate everything first, store the code, then create the function in one step.

    `role` is the execution role's ARN, a role of the account that trusts Lambda; "" (no role,
    no credentials) is left to callers that make functions for their own checks.
    """
    validators.validate_function_name(name)
    if package_type not in PackageType.values:
        raise InvalidParameterValue("PackageType must be Zip or Image.", field="PackageType")
    fields: dict[str, Any] = {"package_type": package_type}
    if role:
        fields["role"] = role_for_lambda(account, role).arn
    if package_type == PackageType.ZIP:
        runtime = validators.validate_runtime(runtime)
        fields.update(_clean_config({"runtime": runtime, "handler": handler or _default_handler(runtime), **config},
                                    package_type, runtime))
        if zip_file is None:
            raise InvalidParameterValue("A Zip function needs code: ZipFile.", field="ZipFile")
        _check_code_storage(account, len(zip_file))
        stored = store_zip(zip_file)
        fields.update(code_sha256=stored.sha256, code_size=stored.size)
    else:
        if not image_uri:
            raise InvalidParameterValue("An Image function needs ImageUri.", field="ImageUri")
        fields.update(_clean_config(config, package_type, ""))
        fields["image_uri"] = image_check(account, image_uri)
    if Function.objects.filter(account=account, name=name).exists():
        raise ResourceConflict(f"Function already exist: {name}", field="FunctionName")
    return Function.objects.create(account=account, name=name, state=State.ACTIVE, **fields)


def _default_handler(runtime: str) -> str:
    return {"python3.11": "lambda_function.lambda_handler", "nodejs18.x": "index.handler"}.get(runtime, "bootstrap")


def _touch(function: Function) -> None:
    """Mark a change: a new revision retires the function's warm environments."""
    function.revision_id = uuid.uuid4()
    function.last_modified = timezone.now()


def function_update_code(function: Function, zip_file: bytes | None = None, image_uri: str | None = None) -> Function:
    """Replace the code; a package that fails validation leaves the old code in place."""
    if function.package_type == PackageType.ZIP:
        if zip_file is None:
            raise InvalidParameterValue("ZipFile is required for a Zip function.", field="ZipFile")
        _check_code_storage(function.account, len(zip_file) - function.code_size)
        stored = store_zip(zip_file)
        function.code_sha256, function.code_size = stored.sha256, stored.size
    else:
        if not image_uri:
            raise InvalidParameterValue("ImageUri is required for an Image function.", field="ImageUri")
        function.image_uri = image_check(function.account, image_uri)
    _touch(function)
    function.save()
    return function


def function_update_configuration(function: Function, **values: Any) -> Function:
    """Change configuration; every value is checked before any is applied."""
    unknown = set(values) - set(CONFIG_FIELDS) - {"reserved_concurrency"}
    if unknown:
        raise InvalidParameterValue(f"Unknown configuration: {', '.join(sorted(unknown))}")
    runtime = values.get("runtime", function.runtime)
    if "runtime" in values and "handler" not in values and function.package_type == PackageType.ZIP:
        values["handler"] = function.handler
    role = values.pop("role", None)
    clean = _clean_config(values, function.package_type, validators.RUNTIME_ALIASES.get(runtime, runtime))
    if role is not None:
        clean["role"] = role_for_lambda(function.account, role).arn
    for key, value in clean.items():
        setattr(function, key, value)
    _touch(function)
    function.save()
    return function


def function_set_concurrency(function: Function, reserved: int | None) -> Function:
    if reserved is not None and (isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0):
        raise InvalidParameterValue("ReservedConcurrentExecutions must be a whole number, 0 or more.",
                                    field="ReservedConcurrentExecutions")
    return reservation_set(function, reserved)  # the account-wide rule lives in .concurrency


MAX_TAGS = 50


def function_set_tags(function: Function, tags: dict[str, str]) -> Function:
    """Replace the function's tags; tags are not part of a version and retire nothing."""
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValue(f"A function can have at most {MAX_TAGS} tags.", field="Tags")
    for key, value in tags.items():
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise InvalidParameterValue(
                f"Tag key {key!r} must be 1 to 128 characters and must not start with aws:.", field="Tags")
        if len(value) > 256:
            raise InvalidParameterValue(f"The value of tag {key} must be at most 256 characters.", field="Tags")
    function.tags = dict(tags)
    function.save(update_fields=["tags"])
    return function


@transaction.atomic
def function_delete(function: Function) -> None:
    function.delete()
