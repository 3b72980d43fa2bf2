"""CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction, and the download behind GetFunction's Code.Location."""
from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse

from .. import codestore
from ..errors import InvalidParameterValue, InvalidRequestContent
from ..iam.services import role_for_lambda
from ..models import Account, Function, PackageType
from ..services.functions import (function_create, function_delete, function_set_tags, function_update_code,
                                  function_update_configuration)
from ..services.versions import version_delete, version_publish
from ..services.wizard import function_create_from_image, function_set_architecture
from . import base, shapes
from .errors import json_response

CODE_URL_SALT = "lambda-api-code-location"
CODE_URL_MAX_AGE = 600  # seconds, as AWS's presigned Code.Location lasts ten minutes
# Fields of the model this server does not implement are accepted only when they ask for
# nothing: empty, or these values (AWS's defaults).
HARMLESS = {"TracingConfig": [{"Mode": "PassThrough"}], "SnapStart": [{"ApplyOn": "None"}],
            "VpcConfig": [{"SubnetIds": [], "SecurityGroupIds": []}],
            "LoggingConfig": [{"LogFormat": "Text"}]}


def _refuse_unsupported(data: dict[str, Any], supported: set[str]) -> None:
    for field, value in data.items():
        if field in supported or not value or value in HARMLESS.get(field, ()):
            continue
        if field == "LoggingConfig" and isinstance(value, dict) and value.get("LogFormat", "Text") == "Text":
            continue
        raise InvalidParameterValue(f"{field} is not supported by this server.", field=field)


def _config_values(data: dict[str, Any]) -> dict[str, Any]:
    """The configuration fields of a request, in the services' names."""
    values: dict[str, Any] = {}
    for field, key in (("Description", "description"), ("Timeout", "timeout"), ("MemorySize", "memory_size"),
                       ("Handler", "handler"), ("Runtime", "runtime")):
        if field in data:
            values[key] = data[field]
    if "Environment" in data:
        values["environment"] = base.structure(data, "Environment").get("Variables") or {}
    if "EphemeralStorage" in data:
        values["ephemeral_storage"] = base.structure(data, "EphemeralStorage").get("Size")
    if "ImageConfig" in data:
        values["image_config"] = base.structure(data, "ImageConfig")
    if "Role" in data:
        values["role"] = data["Role"]
    return values


def _architecture(data: dict[str, Any]) -> str:
    architectures = data.get("Architectures") or ["x86_64"]
    if not isinstance(architectures, list) or len(architectures) != 1:
        raise InvalidParameterValue("Architectures must hold exactly one of x86_64 and arm64.", field="Architectures")
    return architectures[0]


def _tags(data: dict[str, Any]) -> dict[str, str]:
    tags = data.get("Tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidRequestContent("Could not parse request body into json: Tags must map strings to strings.")
    return tags


def create_function(request: HttpRequest, account: Account) -> HttpResponse:
    data = base.json_body(request, "CreateFunction")
    _refuse_unsupported(data, {"FunctionName", "Runtime", "Handler", "Code", "Description", "Timeout",
                               "MemorySize", "Publish", "PackageType", "Environment", "Tags", "ImageConfig",
                               "Architectures", "EphemeralStorage", "Role"})
    name, qualifier = base.parse_function_ref(account, base.string(data, "FunctionName", required=True))
    if qualifier:
        raise InvalidParameterValue("A new function's name takes no qualifier.", field="FunctionName")
    code = base.structure(data, "Code")
    _refuse_unsupported(code, {"ZipFile", "ImageUri"})
    package_type = base.string(data, "PackageType", default=PackageType.ZIP)
    config = _config_values(data)
    if not config.get("role"):  # required by the API (the console's services may leave it out)
        role_for_lambda(account, None)
    architecture, tags, publish = _architecture(data), _tags(data), base.boolean(data, "Publish")
    with transaction.atomic():
        if package_type == PackageType.IMAGE:
            function = function_create_from_image(account, name, base.string(code, "ImageUri"), architecture,
                                                  **config)
        else:
            if "ZipFile" not in code:
                raise InvalidParameterValue("Please provide a source for function code: Code.ZipFile.",
                                            field="ZipFile")
            zip_file = base.blob(code["ZipFile"], "ZipFile")
            runtime, handler = config.pop("runtime", ""), config.pop("handler", "")
            function = function_create(account, name, runtime=runtime, handler=handler, zip_file=zip_file,
                                       package_type=package_type, **config)
            function_set_architecture(function, architecture)
        if tags:
            function_set_tags(function, tags)
        if publish:
            version = version_publish(function)
            return json_response(shapes.function_configuration(function, version, str(version.number)), 201)
    return json_response(shapes.function_configuration(function), 201)


def list_functions(request: HttpRequest, account: Account) -> HttpResponse:
    every_version = request.GET.get("FunctionVersion")
    if every_version not in (None, "ALL"):
        raise InvalidParameterValue("FunctionVersion must be ALL.", field="FunctionVersion")
    functions = Function.objects.filter(account=account).select_related("account").order_by("name")
    keyed: list[tuple[str, Any]] = []
    for function in (functions.prefetch_related("versions") if every_version else functions):
        keyed.append((base.sort_key(function.name, "$LATEST"), (function, function, "$LATEST")))
        if every_version:
            keyed += [(base.sort_key(function.name, str(v.number)), (function, v, str(v.number)))
                      for v in function.versions.all()]
    items, next_marker = base.page(request, keyed)
    out: dict[str, Any] = {"Functions": [shapes.function_configuration(f, c, v) for f, c, v in items]}
    if next_marker:
        out["NextMarker"] = next_marker
    return json_response(out)


def _configuration(function: Function, qualifier: str | None) -> dict[str, Any]:
    version, config, alias = base.resolve_config(function, qualifier)
    return shapes.function_configuration(function, config, version, arn=alias.arn if alias else None)


def get_function_configuration(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    return json_response(_configuration(function, qualifier))


def get_function(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    _, config, _ = base.resolve_config(function, qualifier)
    out: dict[str, Any] = {"Configuration": _configuration(function, qualifier)}
    if config.package_type == PackageType.ZIP:
        token = signing.dumps({"account": account.account_id, "sha256": config.code_sha256}, salt=CODE_URL_SALT)
        out["Code"] = {"RepositoryType": "S3",
                       "Location": request.build_absolute_uri(reverse("api-code", args=[token]))}
    else:
        out["Code"] = {"RepositoryType": "ECR", "ImageUri": config.image_uri, "ResolvedImageUri": config.image_uri}
    if function.tags:
        out["Tags"] = dict(function.tags)
    if function.reserved_concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
    return json_response(out)


def code_download(request: HttpRequest, token: str) -> HttpResponse:
    """The zip behind Code.Location: authorised by its signed, expiring token, as a presigned URL is."""
    try:
        claim = signing.loads(token, salt=CODE_URL_SALT, max_age=CODE_URL_MAX_AGE)
    except signing.BadSignature:
        raise Http404("This code location is invalid or has expired.")
    sha256 = claim.get("sha256", "")
    path = codestore.zip_path(sha256) if len(sha256) == 64 and sha256.isalnum() else None
    if path is None or not path.exists():
        raise Http404("This code is gone.")
    return FileResponse(open(path, "rb"), content_type="application/zip", as_attachment=True,
                        filename=f"{sha256}.zip")


def update_function_code(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "UpdateFunctionCode")
    _refuse_unsupported(data, {"ZipFile", "ImageUri", "Publish", "RevisionId", "Architectures", "DryRun"})
    function = base.unqualified_function(request, account, name)
    base.revision_matches(data, function.revision_id)
    zip_file = base.blob(data["ZipFile"], "ZipFile") if "ZipFile" in data else None
    publish = base.boolean(data, "Publish")
    if base.boolean(data, "DryRun"):
        raise InvalidParameterValue("DryRun is not supported by this server.", field="DryRun")
    with transaction.atomic():
        function = function_update_code(function, zip_file=zip_file, image_uri=data.get("ImageUri"))
        if "Architectures" in data:
            function_set_architecture(function, _architecture(data))
        if publish:
            version = version_publish(function)
            return json_response(shapes.function_configuration(function, version, str(version.number)))
    return json_response(shapes.function_configuration(function))


def update_function_configuration(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "UpdateFunctionConfiguration")
    _refuse_unsupported(data, {"Handler", "Description", "Timeout", "MemorySize", "Environment", "Runtime",
                               "RevisionId", "ImageConfig", "EphemeralStorage", "Role"})
    function = base.unqualified_function(request, account, name)
    base.revision_matches(data, function.revision_id)
    function = function_update_configuration(function, **_config_values(data))
    return json_response(shapes.function_configuration(function))


def delete_function(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    if qualifier:
        version_delete(function, qualifier)
    else:
        function_delete(function)
    return json_response(None, 204)
