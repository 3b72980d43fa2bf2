"""Published versions (immutable snapshots of $LATEST) and the aliases that point at them."""
from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ..arns import LATEST, is_alias_name, is_version, version_exists
from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..models import Alias, Function, Version

# Copied from $LATEST into a version; `last_modified` becomes the publish time.
SNAPSHOT_FIELDS = ("description", "package_type", "runtime", "handler", "image_uri", "image_config",
                   "architecture", "memory_size", "timeout", "ephemeral_storage", "environment",
                   "code_sha256", "code_size", "role", "revision_id")


@transaction.atomic
def version_publish(function: Function, description: str = "") -> Version:
    """Snapshot $LATEST as the next version; publishing an unchanged $LATEST returns the last one."""
    if len(description) > 256:
        raise InvalidParameterValue("Description must be at most 256 characters.", field="description")
    # Lock the function row so two publishes cannot take the same number.
    function = Function.objects.select_for_update().get(pk=function.pk)
    latest = function.versions.order_by("-number").first()
    if latest is not None and latest.revision_id == function.revision_id and latest.code_sha256 == function.code_sha256:
        return latest
    number = (function.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    values: dict[str, Any] = {name: getattr(function, name) for name in SNAPSHOT_FIELDS}
    if description:
        values["description"] = description
    return Version.objects.create(function=function, number=number, last_modified=timezone.now(), **values)


def _validate_target(function: Function, version: str, field: str) -> str:
    version = (version or "").strip()
    if version == LATEST or version_exists(function, version):
        return version
    raise InvalidParameterValue(f"Version {version or '(none)'} does not exist.", field=field)


def _clean_alias(function: Function, version: str, description: str, routing: dict[str, float] | None
                 ) -> dict[str, Any]:
    version = _validate_target(function, version, "function_version")
    if len(description or "") > 256:
        raise InvalidParameterValue("Description must be at most 256 characters.", field="description")
    routing_config: dict[str, float] = {}
    for extra, weight in (routing or {}).items():
        extra = _validate_target(function, str(extra), "additional_version")
        if extra == LATEST or version == LATEST:
            raise InvalidParameterValue("Weighted routing works between two published versions.",
                                        field="additional_version")
        if extra == version:
            raise InvalidParameterValue("The additional version must differ from the alias's version.",
                                        field="additional_version")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise InvalidParameterValue("The weight must be between 0 and 1.", field="weight")
        routing_config[extra] = float(weight)
    if len(routing_config) > 1:
        raise InvalidParameterValue("An alias sends traffic to at most one additional version.",
                                    field="additional_version")
    return {"function_version": version, "description": description or "", "routing_config": routing_config}


def alias_get(function: Function, name: str) -> Alias:
    alias = function.aliases.filter(name=name).first()
    if alias is None:
        raise ResourceNotFound(f"Alias not found: {function.arn}:{name}", field="name")
    return alias


def alias_create(function: Function, name: str, function_version: str, description: str = "",
                 routing_config: dict[str, float] | None = None) -> Alias:
    if not is_alias_name(name):
        raise InvalidParameterValue(
            "Alias name must be 1 to 128 letters, numbers, hyphens or underscores, and not only digits.",
            field="name")
    values = _clean_alias(function, function_version, description, routing_config)
    try:
        with transaction.atomic():
            return Alias.objects.create(function=function, name=name, **values)
    except IntegrityError:
        raise ResourceConflict(f"Alias already exists: {function.arn}:{name}", field="name")


def alias_update(alias: Alias, function_version: str, description: str = "",
                 routing_config: dict[str, float] | None = None) -> Alias:
    values = _clean_alias(alias.function, function_version, description, routing_config)
    for key, value in values.items():
        setattr(alias, key, value)
    alias.revision_id, alias.last_modified = uuid.uuid4(), timezone.now()
    alias.save()
    return alias


def alias_delete(alias: Alias) -> None:
    alias.delete()


def version_delete(function: Function, qualifier: str) -> None:
    """Delete one published version; $LATEST goes only with the function, and a version an alias uses stays."""
    if qualifier == LATEST:
        raise InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.",
                                    field="Qualifier")
    if not is_version(qualifier):
        raise InvalidParameterValue("Deletion of aliases is not supported. Use DeleteAlias instead.",
                                    field="Qualifier")
    version = function.versions.filter(number=int(qualifier)).first()
    if version is None:
        raise ResourceNotFound(f"Function not found: {function.arn}:{qualifier}", field="Qualifier")
    used_by = [alias.name for alias in function.aliases.all()
               if alias.function_version == qualifier or qualifier in (alias.routing_config or {})]
    if used_by:
        raise ResourceConflict(f"Unable to delete version because the following aliases reference it: "
                               f"{used_by}", field="Qualifier")
    version.delete()
