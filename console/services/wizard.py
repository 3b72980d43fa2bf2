"""The create-function wizard: a new function from starter code, a blueprint or an image."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from ..codestore import make_zip
from ..errors import InvalidParameterValue
from ..iam import services as iam
from ..models import Account, Function, PackageType
from .blueprint_packages import cached_deployment_zip
from .blueprints import BLUEPRINTS, STARTERS, Blueprint
from .functions import function_create

ARCHITECTURES = ("x86_64", "arm64")


def _architecture(value: str) -> str:
    if value not in ARCHITECTURES:
        raise InvalidParameterValue("Architecture must be x86_64 or arm64.", field="architecture")
    return value


def execution_role_arn(account: Account, function_name: str, choice: str, existing_role: str = "") -> str:
    """The role a function is given from the console: one of the account's roles by name, or
    (AWS's default) a new role with basic Lambda permissions named after the function.

    Call it in the transaction that creates or changes the function, so that a function that
    is refused leaves no role behind.
    """
    if choice == "existing":
        return iam.role_get(account, existing_role).arn
    return iam.lambda_basic_role_create(account, function_name).arn


@transaction.atomic
def function_create_from_scratch(account: Account, name: str, runtime: str, architecture: str = "x86_64",
                                 **config: Any) -> Function:
    """A function with the runtime's starter code, as AWS's "Author from scratch"."""
    architecture = _architecture(architecture)
    starter = STARTERS.get(runtime)
    if starter is None:
        raise InvalidParameterValue(f"Unsupported runtime {runtime!r}.", field="runtime")
    function = function_create(account, name, runtime=runtime, handler=starter.handler,
                               zip_file=make_zip(starter.files, executable=starter.executable), **config)
    return _set_architecture(function, architecture)


@transaction.atomic
def function_create_from_blueprint(account: Account, name: str, blueprint: str, architecture: str = "x86_64",
                                   **config: Any) -> Function:
    architecture = _architecture(architecture)
    bp = BLUEPRINTS.get(blueprint)
    if bp is None:
        raise InvalidParameterValue("Choose a blueprint.", field="blueprint")
    config.setdefault("description", bp.description)
    for preset in ("memory_size", "timeout"):
        if getattr(bp, preset) is not None:
            config.setdefault(preset, getattr(bp, preset))
    function = function_create(account, name, runtime=bp.runtime, handler=bp.handler,
                               zip_file=blueprint_zip(bp), **config)
    return _set_architecture(function, architecture)


def blueprint_zip(bp: Blueprint) -> bytes:
    """The blueprint's deployment package: its code, and the libraries it needs beside it."""
    return cached_deployment_zip(bp.key, bp.files, bp.packages) if bp.packages else make_zip(bp.files)


def function_create_from_image(account: Account, name: str, image_uri: str, architecture: str = "x86_64",
                               **config: Any) -> Function:
    """A container image function; the image must be on the Docker host and the account's to run."""
    architecture = _architecture(architecture)
    image_uri = (image_uri or "").strip()
    if not image_uri:
        raise InvalidParameterValue("Enter the name of a local container image.", field="image_uri")
    function = function_create(account, name, package_type=PackageType.IMAGE, image_uri=image_uri, **config)
    return _set_architecture(function, architecture)


def function_set_architecture(function: Function, architecture: str) -> Function:
    """Set the instruction set; the API's CreateFunction takes it apart from the code."""
    return _set_architecture(function, _architecture(architecture))


def _set_architecture(function: Function, architecture: str) -> Function:
    if function.architecture != architecture:
        function.architecture = architecture
        function.save(update_fields=["architecture"])
    return function
