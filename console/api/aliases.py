"""CreateAlias, GetAlias, UpdateAlias, DeleteAlias and ListAliases, weighted routing included."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from ..errors import InvalidRequestContent
from ..models import Account
from ..services.versions import alias_create, alias_delete, alias_get, alias_update
from . import base, shapes
from .errors import json_response


def _routing(data: dict[str, Any]) -> dict[str, float] | None:
    if "RoutingConfig" not in data:
        return None
    weights = base.structure(data, "RoutingConfig").get("AdditionalVersionWeights") or {}
    if not isinstance(weights, dict):
        raise InvalidRequestContent("Could not parse request body into json: AdditionalVersionWeights must be "
                                    "a map of versions to weights.")
    return weights


def create_alias(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "CreateAlias")
    function = base.unqualified_function(request, account, name)
    alias = alias_create(function, base.string(data, "Name", required=True),
                         base.string(data, "FunctionVersion", required=True), base.string(data, "Description"),
                         _routing(data))
    return json_response(shapes.alias_configuration(alias), 201)


def get_alias(request: HttpRequest, account: Account, name: str, alias: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    return json_response(shapes.alias_configuration(alias_get(function, alias)))


def update_alias(request: HttpRequest, account: Account, name: str, alias: str) -> HttpResponse:
    """Change what is given; what is left out keeps its value, as on AWS."""
    data = base.json_body(request, "UpdateAlias")
    function = base.unqualified_function(request, account, name)
    target = alias_get(function, alias)
    base.revision_matches(data, target.revision_id)
    routing = _routing(data)
    target = alias_update(target, base.string(data, "FunctionVersion", default=target.function_version),
                          base.string(data, "Description", default=target.description),
                          target.routing_config if routing is None else routing)
    return json_response(shapes.alias_configuration(target))


def delete_alias(request: HttpRequest, account: Account, name: str, alias: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    alias_delete(alias_get(function, alias))
    return json_response(None, 204)


def list_aliases(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function = base.unqualified_function(request, account, name)
    aliases = function.aliases.select_related("function__account").order_by("name")
    version = request.GET.get("FunctionVersion")
    if version:
        aliases = aliases.filter(function_version=version)
    items, next_marker = base.page(request, [(a.name, a) for a in aliases])
    out: dict[str, Any] = {"Aliases": [shapes.alias_configuration(a) for a in items]}
    if next_marker:
        out["NextMarker"] = next_marker
    return json_response(out)
