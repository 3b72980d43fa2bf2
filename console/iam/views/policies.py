"""A role's permissions: inline policies in the JSON editor, managed policies attached and
detached, and its trust policy."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ...views.base import posted
from .. import display, services
from ..errors import IamError
from ..forms import AttachPoliciesForm, InlinePolicyForm, TrustPolicyForm, add_iam_error
from .roles import owned_role

# Where IAM's errors about a policy are shown on its form.
POLICY_ERRORS = {"MalformedPolicyDocument": "document", "LimitExceeded": "document", "ValidationError": "name",
                 "EntityAlreadyExists": "name", "InvalidInput": "document"}


def _role_url(role, tab: str = "permissions") -> str:
    return f"{reverse('iam-role', args=[role.name])}?tab={tab}"


@login_required
def inline_policy_edit(request: HttpRequest, name: str, policy: str | None = None) -> HttpResponse:
    """Create an inline policy (no `policy`) or change one; IAM's PutRolePolicy does both."""
    role = owned_role(request, name)
    initial = {"document": display.pretty_json(display.EMPTY_POLICY)}
    if policy is not None:
        try:
            current = services.role_get_policy(role.account, role.name, policy)
        except IamError:
            raise Http404("Policy not found")
        initial = {"name": current.name, "document": display.pretty_json(current.document)}
    form = InlinePolicyForm(posted(request), initial=initial)
    if policy is not None:
        form.fields["name"].disabled = True  # renaming is a new policy, as in IAM's console
    if request.method == "POST" and form.is_valid():
        policy_name = form.cleaned_data["name"]
        if policy is None and policy_name.lower() in (p.lower() for p in services.role_list_policies(
                role.account, role.name)):
            form.add_error("name", f"A policy named {policy_name} already exists in the role. Choose another name.")
        else:
            try:
                services.role_put_policy(role.account, role.name, policy_name, form.cleaned_data["document"])
            except IamError as exc:
                add_iam_error(form, exc, POLICY_ERRORS)
            else:
                messages.success(request, f"Policy {policy_name} {'updated' if policy else 'created'}.")
                return redirect(_role_url(role))
    return render(request, "iam/roles/policy_edit.html", {"role": role, "form": form, "policy": policy},
                  status=400 if form.is_bound else 200)


@login_required
@require_POST
def inline_policy_delete(request: HttpRequest, name: str, policy: str) -> HttpResponse:
    role = owned_role(request, name)
    try:
        services.role_delete_policy(role.account, role.name, policy)
    except IamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Policy {policy} removed from the role {role.name}.")
    return redirect(_role_url(role))


@login_required
def trust_policy_edit(request: HttpRequest, name: str) -> HttpResponse:
    role = owned_role(request, name)
    form = TrustPolicyForm(posted(request), initial={"document": display.pretty_json(role.assume_role_policy)})
    if request.method == "POST" and form.is_valid():
        try:
            services.role_update_trust(role.account, role.name, form.cleaned_data["document"])
        except IamError as exc:
            add_iam_error(form, exc, {"MalformedPolicyDocument": "document", "LimitExceeded": "document"})
        else:
            messages.success(request, f"Trust policy of {role.name} updated.")
            return redirect(_role_url(role, "trust"))
    return render(request, "iam/roles/trust_edit.html", {"role": role, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
def policies_attach(request: HttpRequest, name: str) -> HttpResponse:
    role = owned_role(request, name)
    attached = {arn for _, arn in services.role_list_attached(role.account, role.name)}
    attachable = display.attachable_policies(role.account, exclude=attached)
    form = AttachPoliciesForm(posted(request), attachable=attachable)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["policies"]
        try:
            for arn in chosen:
                services.role_attach_policy(role.account, role.name, arn)
        except IamError as exc:  # LimitExceeded: at most 10 (20 on request) managed policies per role
            add_iam_error(form, exc, {"LimitExceeded": "policies", "NoSuchEntity": "policies"})
        else:
            names = ", ".join(p.name for p in attachable if p.arn in chosen)
            messages.success(request, f"Policy {names} attached to the role {role.name}." if len(chosen) == 1
                             else f"Policies {names} attached to the role {role.name}.")
            return redirect(_role_url(role))
    return render(request, "iam/roles/attach.html", {"role": role, "form": form, "attachable": attachable},
                  status=400 if form.is_bound else 200)


@login_required
@require_POST
def policy_detach(request: HttpRequest, name: str) -> HttpResponse:
    role = owned_role(request, name)
    arn = request.POST.get("policy_arn", "")
    try:
        services.role_detach_policy(role.account, role.name, arn)
    except IamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Policy {arn.rsplit('/', 1)[-1]} detached from the role {role.name}.")
    return redirect(_role_url(role))
