"""The Configuration tab: general settings, environment variables, concurrency and tags."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import LambdaError
from ..forms import (ConcurrencyForm, GeneralConfigurationForm, KeyValueForm, LogRetentionForm, RecursionForm,
                     add_service_error)
from ..services.concurrency import account_reserved, unreserved_concurrency
from ..services.functions import function_set_concurrency, function_set_tags, function_update_configuration
from ..services.logs import function_set_log_retention
from ..services.recursion import function_set_recursive_loop
from .base import function_context, owned_function
from .permissions import permissions_section
from .triggers import configuration_sections

SECTIONS = ("general", "environment", "concurrency", "recursion", "tags", "logging")
# Shown by console/views/triggers.py; their forms are pages of their own.
TRIGGER_SECTIONS = ("triggers", "function-url", "async")


def _forms(function) -> dict:
    return {
        "general": GeneralConfigurationForm(initial={
            "description": function.description, "memory_size": function.memory_size,
            "ephemeral_storage": function.ephemeral_storage, "timeout": function.timeout}),
        "environment": KeyValueForm(initial_pairs=function.environment),
        "concurrency": ConcurrencyForm(initial={
            "mode": "unreserved" if function.reserved_concurrency is None else "reserved",
            "reserved_concurrency": function.reserved_concurrency}),
        "recursion": RecursionForm(initial={"recursive_loop": function.recursive_loop}),
        "tags": KeyValueForm(initial_pairs=function.tags),
        "logging": LogRetentionForm(initial={"log_retention_days": function.log_retention_days or ""}),
    }


def _render(request, function, section: str, forms: dict, status: int = 200) -> HttpResponse:
    context = function_context(request, function, "configuration", section=section, **{f"{k}_form": v
                                                                                      for k, v in forms.items()})
    if section == "concurrency":  # as AWS's console: the account's figures beside the form
        limit = settings.LAMBDA_ACCOUNT_CONCURRENCY
        context.update(account_concurrency=limit, unreserved_concurrency=unreserved_concurrency(
            limit, account_reserved(function.account_id)))
    return render(request, "console/function/configuration.html", context, status=status)


@login_required
def configuration_tab(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    section = request.GET.get("section", "general")
    if section in TRIGGER_SECTIONS:
        context = function_context(request, function, "configuration", section=section,
                                   **configuration_sections(request, function, section))
        return render(request, "console/function/configuration.html", context)
    if section == "permissions":
        context = function_context(request, function, "configuration", section=section,
                                   **permissions_section(function))
        return render(request, "console/function/configuration.html", context)
    return _render(request, function, section if section in SECTIONS else "general", _forms(function))


@login_required
@require_POST
def configuration_update(request: HttpRequest, name: str, section: str) -> HttpResponse:
    function = owned_function(request, name)
    if section not in SECTIONS:
        return redirect("function-configuration", name=function.name)
    forms = _forms(function)
    if section == "general":
        form = GeneralConfigurationForm(request.POST)
    elif section == "concurrency":
        form = ConcurrencyForm(request.POST)
    elif section == "logging":
        form = LogRetentionForm(request.POST)
    elif section == "recursion":
        form = RecursionForm(request.POST)
    else:
        form = KeyValueForm(request.POST)
    forms[section] = form
    if form.is_valid():
        data = form.cleaned_data
        try:
            if section == "general":
                function_update_configuration(function, **data)
            elif section == "environment":
                function_update_configuration(function, environment=data["pairs"])
            elif section == "concurrency":
                function_set_concurrency(function, data["reserved_concurrency"] if data["mode"] == "reserved"
                                         else None)
            elif section == "logging":
                function_set_log_retention(function, data["log_retention_days"])
            elif section == "recursion":
                function_set_recursive_loop(function, data["recursive_loop"])
            else:
                function_set_tags(function, data["pairs"])
        except LambdaError as exc:
            function.refresh_from_db()
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully updated the function {function.name}.")
            return redirect(f"{request.path.rsplit('/', 1)[0]}?section={section}")
    return _render(request, function, section, forms, status=400)
