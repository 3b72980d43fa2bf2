"""The functions list, the create wizard and deleting a function."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import LambdaError
from ..forms import CreateFunctionForm, add_service_error
from ..iam.errors import IamError
from ..iam.services import roles_trusting_lambda
from ..models import Function
from ..services.blueprints import BLUEPRINTS
from ..services.functions import function_delete
from ..services.wizard import (execution_role_arn, function_create_from_blueprint, function_create_from_image,
                               function_create_from_scratch)
from .base import account_of, owned_function


@login_required
def function_list(request: HttpRequest) -> HttpResponse:
    functions = Function.objects.filter(account=account_of(request)).order_by("name")
    return render(request, "console/functions/list.html", {"functions": functions})


@login_required
def function_create(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    form = CreateFunctionForm(request.POST or None, roles=roles_trusting_lambda(account))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        config = {"memory_size": data["memory_size"], "timeout": data["timeout"]}
        if data["description"]:
            config["description"] = data["description"]
        try:
            with transaction.atomic():  # a function that is refused leaves no new role behind
                config["role"] = execution_role_arn(account, data["function_name"], data["execution_role"],
                                                    data["existing_role"])
                if data["method"] == "blueprint":
                    function = function_create_from_blueprint(account, data["function_name"],
                                                              data["blueprint"], data["architecture"], **config)
                elif data["method"] == "image":
                    function = function_create_from_image(account, data["function_name"],
                                                          data["image_uri"], data["architecture"], **config)
                else:
                    function = function_create_from_scratch(account, data["function_name"],
                                                            data["runtime"], data["architecture"], **config)
        except IamError as exc:  # the existing role is gone, or a new one could not be made
            form.add_error("existing_role" if data["execution_role"] == "existing" else None, exc.message)
        except LambdaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully created the function {function.name}. You can now change "
                                      "its code and configuration. To invoke your function with a test event, "
                                      "choose \u201cTest\u201d.")
            return redirect("function", name=function.name)
    return render(request, "console/functions/create.html", {"form": form, "blueprints": BLUEPRINTS})


@login_required
@require_POST
def function_delete_view(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    if request.POST.get("confirm") != "delete":
        messages.error(request, f"To delete {function.name}, type delete in the confirmation box.")
        return redirect("functions")
    function_delete(function)
    messages.success(request, f"Successfully deleted the function {name}.")
    return redirect("functions")
