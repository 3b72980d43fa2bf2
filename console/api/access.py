"""Who may call each Lambda operation: its IAM action and resource, checked before it runs.

Users' access keys are their account's administrators; role sessions act within their role's
policies (`console.authz`). A request naming another account's function (by ARN) is served only
where that function's resource-based policy allows the caller that action, and, for a role
session, its own role's policies too (IAM's "Cross-account policy evaluation logic"); it then
runs in the owner's account. Actions and resources follow the Service Authorization Reference,
"Actions, resources, and condition keys for AWS Lambda": a function's ARN, qualified when the
request names a version or alias, and "*" for the account-wide operations.
"""
from __future__ import annotations

import json
from typing import Callable

from django.conf import settings
from django.http import HttpRequest

from .. import arns, authz
from ..models import Account, Function
from ..policy import Decision
from ..services import permissions
from ..sigv4 import Principal

_M = "console.api."
ACTIONS: dict[str, str] = {
    _M + "functions.list_functions": "ListFunctions",
    _M + "functions.create_function": "CreateFunction",
    _M + "functions.get_function": "GetFunction",
    _M + "functions.delete_function": "DeleteFunction",
    _M + "functions.get_function_configuration": "GetFunctionConfiguration",
    _M + "functions.update_function_configuration": "UpdateFunctionConfiguration",
    _M + "functions.update_function_code": "UpdateFunctionCode",
    _M + "invoke.invoke": "InvokeFunction",
    _M + "versions.list_versions": "ListVersionsByFunction",
    _M + "versions.publish_version": "PublishVersion",
    _M + "aliases.list_aliases": "ListAliases",
    _M + "aliases.create_alias": "CreateAlias",
    _M + "aliases.get_alias": "GetAlias",
    _M + "aliases.update_alias": "UpdateAlias",
    _M + "aliases.delete_alias": "DeleteAlias",
    _M + "concurrency.put_concurrency": "PutFunctionConcurrency",
    _M + "concurrency.delete_concurrency": "DeleteFunctionConcurrency",
    _M + "concurrency.get_concurrency": "GetFunctionConcurrency",
    _M + "tags.list_tags": "ListTags",
    _M + "tags.tag_resource": "TagResource",
    _M + "tags.untag_resource": "UntagResource",
    _M + "function_urls.create_function_url_config": "CreateFunctionUrlConfig",
    _M + "function_urls.get_function_url_config": "GetFunctionUrlConfig",
    _M + "function_urls.update_function_url_config": "UpdateFunctionUrlConfig",
    _M + "function_urls.delete_function_url_config": "DeleteFunctionUrlConfig",
    _M + "function_urls.list_function_url_configs": "ListFunctionUrlConfigs",
    _M + "event_invoke.put_function_event_invoke_config": "PutFunctionEventInvokeConfig",
    _M + "event_invoke.update_function_event_invoke_config": "UpdateFunctionEventInvokeConfig",
    _M + "event_invoke.get_function_event_invoke_config": "GetFunctionEventInvokeConfig",
    _M + "event_invoke.delete_function_event_invoke_config": "DeleteFunctionEventInvokeConfig",
    _M + "event_invoke.list_function_event_invoke_configs": "ListFunctionEventInvokeConfigs",
    _M + "recursion.get_function_recursion_config": "GetFunctionRecursionConfig",
    _M + "recursion.put_function_recursion_config": "PutFunctionRecursionConfig",
    _M + "account.get_account_settings": "GetAccountSettings",
    _M + "permissions.add_permission": "AddPermission",
    _M + "permissions.remove_permission": "RemovePermission",
    _M + "permissions.get_policy": "GetPolicy",
}
# Naming an execution role also needs iam:PassRole on it, as on AWS.
PASSES_ROLE = {"CreateFunction", "UpdateFunctionConfiguration"}


def action_of(handler: Callable) -> str | None:
    """lambda:<Action> of an operation's handler; None for what is not an operation (its own error)."""
    name = ACTIONS.get(f"{handler.__module__}.{handler.__name__}")
    return f"lambda:{name}" if name else None


def authorize_call(request: HttpRequest, caller: Principal, handler: Callable, kwargs: dict[str, str]) -> Account:
    """Check the caller may run this operation; return the account it runs in (the function's owner)."""
    action = action_of(handler)
    if action is None:
        return caller.account
    ref = kwargs.get("name")
    parts = arns.match_function_ref(ref) if ref and ":" in ref else None
    if parts is not None and parts.account and parts.account != caller.account.account_id:
        return _cross_account(request, caller, action, parts)
    if not caller.is_role:
        return caller.account  # users' keys: no policy to read, nothing added to their calls
    account_id = caller.account.account_id
    resource = _resource(request, account_id, action, kwargs, parts)
    decision = authz.identity_decision(caller, action, resource)
    if decision is Decision.IMPLICIT_DENY and ref:
        # In one account, a resource-based policy that names the caller allows as well.
        decision = _resource_decision(caller.account, parts.name if parts else ref, _qualifier(request, parts),
                                      action, caller)
    if decision is not Decision.ALLOW:
        raise authz.AccessDenied(action, resource, caller, explicit=decision is Decision.DENY)
    if action.removeprefix("lambda:") in PASSES_ROLE:
        role = _body_field(request, "Role")
        if role:
            authz.authorize(caller, "iam:PassRole", role)
    return caller.account


def _qualifier(request: HttpRequest, parts: arns.FunctionRef | None) -> str | None:
    return (parts.qualifier if parts else None) or request.GET.get("Qualifier") or None


def _resource(request: HttpRequest, account_id: str, action: str, kwargs: dict[str, str],
              parts: arns.FunctionRef | None) -> str:
    if "arn" in kwargs:  # the tagging operations name their resource by ARN
        return kwargs["arn"]
    name = parts.name if parts else kwargs.get("name")
    if name is None and action == "lambda:CreateFunction":
        name = _body_field(request, "FunctionName")
        parsed = arns.match_function_ref(name) if name else None
        name = parsed.name if parsed else name
    if not name:
        return "*"
    return arns.function_arn(account_id, name, _qualifier(request, parts))


def _body_field(request: HttpRequest, field: str) -> str:
    try:
        value = json.loads(request.body or b"{}").get(field)
    except (ValueError, AttributeError):
        return ""  # the operation refuses the body itself
    return value if isinstance(value, str) else ""


def _resource_decision(owner: Account, name: str, qualifier: str | None, action: str, caller: Principal) -> Decision:
    function = Function.objects.filter(account=owner, name=name).select_related("account").first()
    if function is None:
        return Decision.IMPLICIT_DENY
    return permissions.allows(function, qualifier, action, authz.principal_values(caller))


def _cross_account(request: HttpRequest, caller: Principal, action: str, parts: arns.FunctionRef) -> Account:
    qualifier = arns.request_qualifier(parts.qualifier, request.GET.get("Qualifier"))
    resource = arns.function_arn(parts.account, parts.name, qualifier, region=parts.region or settings.LAMBDA_REGION)
    authz.authorize(caller, action, resource)  # the caller's side: its role's policies
    owner = Account.objects.filter(account_id=parts.account).first()
    decision = _resource_decision(owner, parts.name, qualifier, action, caller) if owner else Decision.IMPLICIT_DENY
    if decision is not Decision.ALLOW:
        raise authz.AccessDenied(action, resource, caller, explicit=decision is Decision.DENY,
                                 policy_type=authz.RESOURCE)
    return owner
