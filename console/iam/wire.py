"""IAM's API (query protocol) for roles and managed policies: parse, authorize, call the rules, answer.

The operations and their shapes are IAM's (IAM API reference; botocore's iam model is what
`console.awsquery` parses and writes by). Policy documents go out URL-encoded, as IAM sends
them (botocore and the CLI decode them). A user's access key acts as its account's
administrator; a role session may do only what its role's policies allow
(`console.authz.authorize(principal, "iam:<Action>", resource ARN)`).
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse

from .. import authz, awsquery
from ..sigv4 import Principal
from . import services
from .errors import InvalidInput
from .models import Role, RolePolicy
from .policies import PolicyInfo

DEFAULT_MAX_ITEMS = 100


def handle(request: HttpRequest) -> HttpResponse:
    return awsquery.serve(request, "iam", OPERATIONS)


def _encoded(document: str) -> str:
    return quote(document, safe="")


def _role_arn(principal: Principal, name: str) -> str:
    """The ARN authorization names: the role's own (with its path) when it exists."""
    role = Role.objects.filter(account=principal.account, name__iexact=name).first()
    return role.arn if role is not None else f"arn:aws:iam::{principal.account.account_id}:role/{name}"


def _allow(principal: Principal, action: str, resource: str) -> None:
    authz.authorize(principal, f"iam:{action}", resource)


def _page(items: list, p: dict[str, Any]) -> tuple[list, dict[str, Any]]:
    """One page of a list, by IAM's Marker and MaxItems (1 to 1000)."""
    try:
        start = int(p.get("Marker") or 0)
    except ValueError:
        raise InvalidInput("Invalid Marker.")
    end = start + p.get("MaxItems", DEFAULT_MAX_ITEMS)
    out = {"IsTruncated": end < len(items)}
    if end < len(items):
        out["Marker"] = str(end)
    return items[start:end], out


def role_shape(role: Role, *, listed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Path": role.path, "RoleName": role.name, "RoleId": role.role_id, "Arn": role.arn,
                           "CreateDate": role.created,
                           "AssumeRolePolicyDocument": _encoded(role.assume_role_policy),
                           "MaxSessionDuration": role.max_session_duration}
    if role.description:
        out["Description"] = role.description
    if role.tags and not listed:
        out["Tags"] = role.tags
    if not listed:
        out["RoleLastUsed"] = {}
    return out


def policy_shape(info: PolicyInfo, *, described: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"PolicyName": info.name, "PolicyId": info.policy_id, "Arn": info.arn, "Path": info.path,
                           "DefaultVersionId": info.default_version, "AttachmentCount": info.attachment_count,
                           "PermissionsBoundaryUsageCount": 0, "IsAttachable": True, "CreateDate": info.created,
                           "UpdateDate": info.updated}
    if described and info.description:
        out["Description"] = info.description
    return out


# --- Roles ---------------------------------------------------------------------------------

def create_role(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    name = p["RoleName"]
    _allow(principal, "CreateRole", f"arn:aws:iam::{principal.account.account_id}:role{p.get('Path', '/')}{name}")
    if "PermissionsBoundary" in p:
        raise InvalidInput("Permissions boundaries are not supported by this server.")
    role = services.role_create(principal.account, name, p["AssumeRolePolicyDocument"], path=p.get("Path", "/"),
                                description=p.get("Description", ""),
                                max_session_duration=p.get("MaxSessionDuration", 3600), tags=p.get("Tags"))
    return {"Role": role_shape(role)}


def get_role(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "GetRole", _role_arn(principal, p["RoleName"]))
    return {"Role": role_shape(services.role_get(principal.account, p["RoleName"]))}


def list_roles(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "ListRoles", f"arn:aws:iam::{principal.account.account_id}:role/")
    roles, more = _page(services.role_list(principal.account, p.get("PathPrefix", "/")), p)
    return {"Roles": [role_shape(role, listed=True) for role in roles], **more}


def delete_role(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "DeleteRole", _role_arn(principal, p["RoleName"]))
    services.role_delete(principal.account, p["RoleName"])


def update_role(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "UpdateRole", _role_arn(principal, p["RoleName"]))
    services.role_update(principal.account, p["RoleName"], description=p.get("Description"),
                         max_session_duration=p.get("MaxSessionDuration"))
    return {}


def update_role_description(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "UpdateRoleDescription", _role_arn(principal, p["RoleName"]))
    role = services.role_update(principal.account, p["RoleName"], description=p["Description"])
    return {"Role": role_shape(role)}


def update_assume_role_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "UpdateAssumeRolePolicy", _role_arn(principal, p["RoleName"]))
    services.role_update_trust(principal.account, p["RoleName"], p["PolicyDocument"])


def tag_role(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "TagRole", _role_arn(principal, p["RoleName"]))
    services.role_tag(principal.account, p["RoleName"], p["Tags"])


def untag_role(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "UntagRole", _role_arn(principal, p["RoleName"]))
    services.role_untag(principal.account, p["RoleName"], p["TagKeys"])


def list_role_tags(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "ListRoleTags", _role_arn(principal, p["RoleName"]))
    tags, more = _page(services.role_get(principal.account, p["RoleName"]).tags, p)
    return {"Tags": tags, **more}


# --- Inline policies -----------------------------------------------------------------------

def put_role_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "PutRolePolicy", _role_arn(principal, p["RoleName"]))
    services.role_put_policy(principal.account, p["RoleName"], p["PolicyName"], p["PolicyDocument"])


def get_role_policy(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "GetRolePolicy", _role_arn(principal, p["RoleName"]))
    found: RolePolicy = services.role_get_policy(principal.account, p["RoleName"], p["PolicyName"])
    return {"RoleName": found.role.name, "PolicyName": found.name, "PolicyDocument": _encoded(found.document)}


def delete_role_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "DeleteRolePolicy", _role_arn(principal, p["RoleName"]))
    services.role_delete_policy(principal.account, p["RoleName"], p["PolicyName"])


def list_role_policies(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "ListRolePolicies", _role_arn(principal, p["RoleName"]))
    names, more = _page(services.role_list_policies(principal.account, p["RoleName"]), p)
    return {"PolicyNames": names, **more}


# --- Managed policies ----------------------------------------------------------------------

def attach_role_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "AttachRolePolicy", _role_arn(principal, p["RoleName"]))
    services.role_attach_policy(principal.account, p["RoleName"], p["PolicyArn"])


def detach_role_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "DetachRolePolicy", _role_arn(principal, p["RoleName"]))
    services.role_detach_policy(principal.account, p["RoleName"], p["PolicyArn"])


def list_attached_role_policies(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "ListAttachedRolePolicies", _role_arn(principal, p["RoleName"]))
    attached = services.role_list_attached(principal.account, p["RoleName"])
    prefix = p.get("PathPrefix", "/")
    attached = [(name, arn) for name, arn in attached if arn.split(":policy", 1)[-1].startswith(prefix)]
    page, more = _page(attached, p)
    return {"AttachedPolicies": [{"PolicyName": name, "PolicyArn": arn} for name, arn in page], **more}


def create_policy(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    path = p.get("Path", "/")
    _allow(principal, "CreatePolicy", f"arn:aws:iam::{principal.account.account_id}:policy{path}{p['PolicyName']}")
    info = services.policy_create(principal.account, p["PolicyName"], p["PolicyDocument"], path=path,
                                  description=p.get("Description", ""))
    return {"Policy": policy_shape(info)}


def get_policy(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "GetPolicy", p["PolicyArn"])
    return {"Policy": policy_shape(services.policy_get(principal.account, p["PolicyArn"]), described=True)}


def get_policy_version(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "GetPolicyVersion", p["PolicyArn"])
    info = services.policy_get_version(principal.account, p["PolicyArn"], p["VersionId"])
    return {"PolicyVersion": {"Document": _encoded(info.document), "VersionId": info.default_version,
                              "IsDefaultVersion": True, "CreateDate": info.updated}}


def delete_policy(principal: Principal, p: dict[str, Any]) -> None:
    _allow(principal, "DeletePolicy", p["PolicyArn"])
    services.policy_delete(principal.account, p["PolicyArn"])


def list_policies(principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    _allow(principal, "ListPolicies", "*")
    policies = services.policy_list(principal.account, p.get("Scope", "All"), p.get("OnlyAttached", False),
                                    p.get("PathPrefix", "/"))
    page, more = _page(policies, p)
    return {"Policies": [policy_shape(info) for info in page], **more}


OPERATIONS: dict[str, Callable[[Principal, dict[str, Any]], dict[str, Any] | None]] = {
    "CreateRole": create_role, "GetRole": get_role, "ListRoles": list_roles, "DeleteRole": delete_role,
    "UpdateRole": update_role, "UpdateRoleDescription": update_role_description,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "TagRole": tag_role, "UntagRole": untag_role, "ListRoleTags": list_role_tags,
    "PutRolePolicy": put_role_policy, "GetRolePolicy": get_role_policy, "DeleteRolePolicy": delete_role_policy,
    "ListRolePolicies": list_role_policies,
    "AttachRolePolicy": attach_role_policy, "DetachRolePolicy": detach_role_policy,
    "ListAttachedRolePolicies": list_attached_role_policies,
    "CreatePolicy": create_policy, "GetPolicy": get_policy, "GetPolicyVersion": get_policy_version,
    "DeletePolicy": delete_policy, "ListPolicies": list_policies,
}
