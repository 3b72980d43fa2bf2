"""Building an EnvSpec from a function (or one of its versions)."""
from __future__ import annotations

from django.conf import settings

from console import arns, codestore
from console.models import Function, PackageType, Version
from console.services.concurrency import account_reserved_recent

from .images import image_for_runtime
from .spec import EnvSpec


def resolve_version(function: Function, qualifier: str | None) -> tuple[str, Function | Version]:
    """($LATEST or a version number, the row holding that configuration).

    A qualifier may be an alias: it resolves to the alias's version, or, with a routing
    config, to its second version for that weighted share of calls, picked at random.
    """
    resolved = arns.resolve(function, qualifier, weighted=True)
    return resolved.version, resolved.config


def spec_for(function: Function, qualifier: str | None = None) -> EnvSpec:
    version, config = resolve_version(function, qualifier)
    if config.package_type == PackageType.IMAGE:
        image, code_dir = config.image_uri, ""
    else:
        image, code_dir = image_for_runtime(config.runtime), str(codestore.code_dir(config.code_sha256))
    return EnvSpec(
        function_id=function.pk,
        account_id=function.account.account_id,
        function_name=function.name,
        function_arn=function.arn,
        version=version,
        package_type=config.package_type,
        runtime=config.runtime,
        handler=config.handler,
        image=image,
        code_dir=code_dir,
        memory_size=config.memory_size,
        timeout=config.timeout,
        ephemeral_storage=config.ephemeral_storage,
        region=settings.LAMBDA_REGION,
        revision=str(config.revision_id),
        role=config.role or "",
        environment=dict(config.environment or {}),
        image_config=dict(config.image_config or {}),
        reserved_concurrency=function.reserved_concurrency,
        # A reserved function draws only on its reservation: the account's sum is not needed then.
        account_reserved=account_reserved_recent(function.account_id) if function.reserved_concurrency is None else 0,
    )
