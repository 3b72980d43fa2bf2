"""The Versions and Aliases tabs."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import LambdaError, ResourceNotFound
from ..forms import AliasForm, PublishVersionForm, add_service_error
from ..services.versions import alias_create, alias_delete, alias_get, alias_update, version_publish
from .base import function_context, owned_function


@login_required
def versions_tab(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = PublishVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = version_publish(function, form.cleaned_data["description"])
        except LambdaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully created version {version.number} for function {function.name}.")
            return redirect("function-versions", name=function.name)
    versions = function.versions.order_by("-number")
    return render(request, "console/function/versions.html",
                  function_context(request, function, "versions", form=form, versions=versions),
                  status=400 if form.errors else 200)


def _alias_page(request, function, form, alias=None, status=200) -> HttpResponse:
    versions = ["$LATEST"] + [str(v.number) for v in function.versions.order_by("-number")]
    return render(request, "console/function/aliases.html",
                  function_context(request, function, "aliases", form=form, aliases=function.aliases.all(),
                                   versions=versions, editing=alias), status=status)


@login_required
def aliases_tab(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = AliasForm(request.POST or None, initial={"function_version": "$LATEST"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            alias = alias_create(function, data["name"], data["function_version"], data["description"],
                                 form.routing())
        except LambdaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully created alias {alias.name}.")
            return redirect("function-aliases", name=function.name)
    return _alias_page(request, function, form, status=400 if form.errors else 200)


def _owned_alias(function, name: str):
    try:
        return alias_get(function, name)
    except ResourceNotFound:
        raise Http404("Alias not found")


@login_required
def alias_edit(request: HttpRequest, name: str, alias: str) -> HttpResponse:
    function = owned_function(request, name)
    target = _owned_alias(function, alias)
    initial = {"name": target.name, "description": target.description, "function_version": target.function_version}
    for extra, weight in target.routing_config.items():
        initial.update(additional_version=extra, weight=round(weight * 100))
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None:
        data["name"] = target.name  # an alias keeps its name
    form = AliasForm(data, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            alias_update(target, d["function_version"], d["description"], form.routing())
        except LambdaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully updated alias {target.name}.")
            return redirect("function-aliases", name=function.name)
    return _alias_page(request, function, form, alias=target, status=400 if form.errors else 200)


@login_required
@require_POST
def alias_delete_view(request: HttpRequest, name: str, alias: str) -> HttpResponse:
    function = owned_function(request, name)
    alias_delete(_owned_alias(function, alias))
    messages.success(request, f"Successfully deleted alias {alias}.")
    return redirect("function-aliases", name=function.name)
