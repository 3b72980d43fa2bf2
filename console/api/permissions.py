"""AddPermission, RemovePermission and GetPolicy: a function's resource-based policy."""
from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from ..errors import InvalidRequestContent
from ..models import Account
from ..services.permissions import permission_add, permission_remove, policy_get
from . import base
from .errors import json_response


def add_permission(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    data = base.json_body(request, "AddPermission")
    function, qualifier = base.function_and_qualifier(request, account, name)
    via_url = data.get("InvokedViaFunctionUrl")
    if via_url is not None and not isinstance(via_url, bool):
        raise InvalidRequestContent("Could not parse request body into json: InvokedViaFunctionUrl must be true "
                                    "or false.")
    statement = permission_add(
        function, qualifier, statement_id=base.string(data, "StatementId", required=True),
        action=base.string(data, "Action", required=True), principal=base.string(data, "Principal", required=True),
        source_arn=base.string(data, "SourceArn"), source_account=base.string(data, "SourceAccount"),
        principal_org_id=base.string(data, "PrincipalOrgID"), event_source_token=base.string(data, "EventSourceToken"),
        function_url_auth_type=base.string(data, "FunctionUrlAuthType"), invoked_via_function_url=via_url,
        revision_id=base.string(data, "RevisionId") or None)
    # AWS returns the statement as a JSON string, not an object.
    return json_response({"Statement": json.dumps(statement, separators=(",", ":"))}, 201)


def remove_permission(request: HttpRequest, account: Account, name: str, sid: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    permission_remove(function, qualifier, sid, request.GET.get("RevisionId"))
    return json_response(None, 204)


def get_policy(request: HttpRequest, account: Account, name: str) -> HttpResponse:
    function, qualifier = base.function_and_qualifier(request, account, name)
    document, revision = policy_get(function, qualifier)
    return json_response({"Policy": json.dumps(document, separators=(",", ":")), "RevisionId": revision})
