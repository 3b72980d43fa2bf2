"""IAM's console pages. A role's page is under details/, as in IAM's console, and creating is
not under policies/, so that no name (create is one) can hide another page."""
from django.urls import path

from .views import policies, roles

role = "iam/roles/details/<str:name>"

urlpatterns = [
    path("iam/roles", roles.role_list, name="iam-roles"),
    path("iam/roles/create", roles.role_create, name="iam-role-create"),
    path(role, roles.role_page, name="iam-role"),
    path(f"{role}/delete", roles.role_delete, name="iam-role-delete"),
    path(f"{role}/trust", policies.trust_policy_edit, name="iam-role-trust"),
    path(f"{role}/attach", policies.policies_attach, name="iam-role-attach"),
    path(f"{role}/detach", policies.policy_detach, name="iam-role-detach"),
    path(f"{role}/create-inline-policy", policies.inline_policy_edit, name="iam-role-policy-create"),
    path(f"{role}/policies/<str:policy>", policies.inline_policy_edit, name="iam-role-policy"),
    path(f"{role}/policies/<str:policy>/delete", policies.inline_policy_delete, name="iam-role-policy-delete"),
]
