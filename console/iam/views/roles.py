"""IAM > Roles: the list, creating a role, a role's page and deleting it."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...views.base import account_of, posted
from .. import display, services
from ..errors import IamError
from ..forms import RoleCreateForm, add_iam_error
from ..models import Role

TABS = ("permissions", "trust", "functions")


def owned_role(request: HttpRequest, name: str) -> Role:
    """The caller's role by name; any other account's role is a 404."""
    try:
        return services.role_get(account_of(request), name)
    except IamError:
        raise Http404("Role not found")


@login_required
def role_list(request: HttpRequest) -> HttpResponse:
    rows = [{"role": role, "trusted": display.trusted_entities(role), "functions": services.role_functions(role)}
            for role in services.role_list(account_of(request))]
    return render(request, "iam/roles/list.html", {"rows": rows})


@login_required
def role_create(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    attachable = display.attachable_policies(account)
    form = RoleCreateForm(posted(request), attachable=attachable, initial={
        "trust_policy": display.pretty_json(display.LAMBDA_TRUST), "policies": [services.BASIC_EXECUTION]})  # what AWS's console proposes
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a role whose policies cannot all be attached is not made
                role = services.role_create(account, data["name"], data["trust_policy"],
                                            description=data["description"])
                for arn in data["policies"]:
                    services.role_attach_policy(account, role.name, arn)
        except IamError as exc:
            add_iam_error(form, exc, {"EntityAlreadyExists": "name", "ValidationError": "name",
                                      "MalformedPolicyDocument": "trust_policy", "NoSuchEntity": "policies"})
        else:
            messages.success(request, f"Role {role.name} created.")
            return redirect("iam-role", name=role.name)
    return render(request, "iam/roles/create.html", {"form": form, "attachable": attachable},
                  status=400 if form.is_bound else 200)


@login_required
def role_page(request: HttpRequest, name: str) -> HttpResponse:
    role = owned_role(request, name)
    tab = request.GET.get("tab", "permissions")
    return render(request, "iam/roles/detail.html", {
        "role": role, "tab": tab if tab in TABS else "permissions",
        "policies": display.role_policy_rows(role), "trusted": display.trusted_entities(role),
        "trust_document": display.pretty_json(role.assume_role_policy),
        "functions": services.role_functions(role)})


@login_required
@require_POST
def role_delete(request: HttpRequest, name: str) -> HttpResponse:
    role = owned_role(request, name)
    try:
        services.role_delete(role.account, role.name)
    except IamError as exc:  # DeleteConflict while it has policies or a function uses it
        messages.error(request, f"The role {role.name} was not deleted: {exc.message}")
        return redirect("iam-role", name=role.name)
    messages.success(request, f"Role {role.name} deleted.")
    return redirect("iam-roles")
