"""Configuration > Permissions: the execution role (and changing it), what it allows per service,
and the function's resource-based policy statements."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from ..errors import LambdaError
from ..forms import add_service_error
from ..iam import display
from ..iam.errors import IamError
from ..iam.forms import ExecutionRoleForm
from ..iam.services import roles_trusting_lambda
from ..models import Function
from ..services.functions import function_update_configuration
from ..services.wizard import execution_role_arn
from .base import owned_function, posted


def permissions_section(function: Function) -> dict:
    """The Permissions section's context (shown by console/views/configuration.py)."""
    role = display.role_of_function(function)
    return {"role": role, "role_summary": display.permission_summary(role) if role else [],
            "trusted": display.trusted_entities(role) if role else [],
            "statements": display.resource_statements(function)}


@login_required
def execution_role_edit(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    current = display.role_of_function(function)
    form = ExecutionRoleForm(posted(request), roles=roles_trusting_lambda(function.account),
                             initial={"execution_role": "existing", "existing_role": current.name if current else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a refused change leaves no new role behind
                role = execution_role_arn(function.account, function.name, data["execution_role"],
                                          data["existing_role"])
                function_update_configuration(function, role=role)
        except IamError as exc:  # the role is gone, or a new one could not be made
            function.refresh_from_db()
            form.add_error("existing_role", exc.message)
        except LambdaError as exc:  # a role Lambda cannot assume: AWS's InvalidParameterValueException
            function.refresh_from_db()
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully updated the function {function.name}.")
            return redirect(f"{reverse('function-configuration', args=[function.name])}?section=permissions")
    return render(request, "console/function/role_edit.html", {"function": function, "form": form,
                                                               "current_role": current},
                  status=400 if form.is_bound else 200)
