"""PublishVersion and ListVersionsByFunction."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from .. import arns
from ..errors import InvalidParameterValue
from ..models import Account
from ..services.versions import version_publish
from . import base, shapes
from .errors import json_response


def publish_version(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "PublishVersion")
    function = base.unqualified_function(request, account, name)
    base.revision_matches(data, function.revision_id)
    sha = base.string(data, "CodeSha256")
    if sha and sha != shapes.code_sha256(function.code_sha256):
        raise InvalidParameterValue(f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST "
                                    f"({shapes.code_sha256(function.code_sha256)}). Please try again with the "
                                    "CodeSHA256 in $LATEST.", field="CodeSha256")
    version = version_publish(function, base.string(data, "Description"))
    return json_response(shapes.function_configuration(function, version, str(version.number)), 201)


def list_versions(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    keyed: list[tuple[str, Any]] = [(base.sort_key("", "$LATEST"), (function, "$LATEST"))]
    keyed += [(base.sort_key("", str(v.number)), (v, str(v.number))) for v in function.versions.order_by("number")]
    items, next_marker = base.page(request, keyed)
    versions = [shapes.function_configuration(function, config, version, arn=arns.qualified(function.arn, version))
                for config, version in items]
    out: dict[str, Any] = {"Versions": versions}
    if next_marker:
        out["NextMarker"] = next_marker
    return json_response(out)
