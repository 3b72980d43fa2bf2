"""Triggers and destinations of a function: adding, enabling, removing; its function URL and
asynchronous invocation settings; the account's HTTP APIs."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..errors import LambdaError
from ..forms import (AddTriggerForm, AsyncConfigForm, DestinationForm, FunctionUrlForm, RuleStateForm,
                     add_mapped_error)
from ..limits import DEFAULT_MAX_AGE, DEFAULT_RETRIES
from ..models import EventInvokeConfig, Function, FunctionUrlConfig, ScheduleRule
from ..s3.models import Bucket
from ..s3.services.notifications import lambda_configuration_remove, notification_rules
from ..s3.wire.errors import S3Error
from ..services.async_config import event_invoke_config_put
from ..services.function_urls import function_url_create, function_url_delete, function_url_update
from ..services.http_apis import (http_api_create, http_api_delete, http_api_get, http_apis_list,
                                  http_route_create, http_route_delete, http_route_get)
from ..services.schedules import next_firings, schedule_rule_delete, schedule_rule_update
from ..services.triggers import failed_events, function_triggers, s3_trigger_add, schedule_trigger_add
from .base import account_of, owned_function


def _config_url(function: Function, section: str) -> str:
    return reverse("function-configuration", args=[function.name]) + f"?section={section}"


def _other_functions(request: HttpRequest, function: Function):
    return Function.objects.filter(account=account_of(request)).exclude(pk=function.pk).select_related("account")


def configuration_sections(request: HttpRequest, function: Function, section: str) -> dict:
    """The context of the Configuration tab's trigger sections (Triggers, Function URL,
    Asynchronous invocation)."""
    if section == "triggers":
        triggers = function_triggers(function)
        for trigger in triggers:
            if trigger.kind == "schedule":
                trigger.next_firings = next_firings(trigger.obj, 3)
        return {"triggers": triggers}
    if section == "function-url":
        config = FunctionUrlConfig.objects.filter(function=function, qualifier="").first()
        cors = [(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value).lower()
                 if isinstance(value, bool) else value) for key, value in ((config.cors or {}) if config else {}).items()]
        return {"url_config": config, "url_cors": cors}
    if section == "async":
        return {"async_config": EventInvokeConfig.objects.filter(function=function, qualifier="$LATEST").first(),
                "failed_events": failed_events(function)}
    return {}


# --- Add trigger ------------------------------------------------------------------------------

@login_required
def trigger_add(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    account = account_of(request)
    apis = http_apis_list(account)
    buckets = Bucket.objects.filter(account=account).order_by("name")
    form = AddTriggerForm(request.POST or None, apis=apis, buckets=buckets,
                          initial={"source": request.GET.get("source", "api-gateway"), "api_choice": "new",
                                   "api_name": f"{function.name}-API", "rule_name": "", "enabled": True,
                                   "s3_events": ["s3:ObjectCreated:*"]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # One transaction: a route that is refused leaves no new API behind.
            with transaction.atomic():
                if data["source"] == "api-gateway":
                    if data["api_choice"] == "existing":
                        api = http_api_get(account, data["api_id"])
                    else:
                        api = http_api_create(account, data["api_name"])
                    http_route_create(api, data["route_key"].strip(), function)
                    done = f"The trigger {api.name} ({data['route_key'].strip()}) was successfully added to " \
                           f"function {function.name}."
                elif data["source"] == "s3":
                    s3_trigger_add(account, function, data["bucket"], data["s3_events"], prefix=data["prefix"],
                                   suffix=data["suffix"])
                    done = f"The trigger {data['bucket']} was successfully added to function {function.name}."
                else:
                    rule = schedule_trigger_add(account, function, data["rule_name"], data["schedule_expression"],
                                                input=data["input"].strip(), description=data["rule_description"],
                                                enabled=data["enabled"])
                    done = f"The trigger {rule.name} was successfully added to function {function.name}."
        except LambdaError as exc:
            add_mapped_error(form, exc, {**AddTriggerForm.SERVICE_FIELDS,
                                         "Name": "api_name" if data["source"] == "api-gateway" else "rule_name"})
        except S3Error as exc:  # S3's refusal of the bucket's configuration, in its own words
            detail = exc.fields.get("ArgumentValue1")
            form.add_error(AddTriggerForm.S3_FIELDS.get(exc.fields.get("ArgumentName", "")),
                           f"{exc.message}: {detail}" if detail else exc.message)
        else:
            messages.success(request, done)
            return redirect("function", name=function.name)
    return render(request, "console/function/trigger_add.html", {"function": function, "form": form},
                  status=400 if form.errors else 200)


def _owned_rule(function: Function, rule_name: str) -> ScheduleRule:
    rule = ScheduleRule.objects.filter(function=function, name=rule_name).select_related(
        "account", "periodic_task", "function").first()
    if rule is None:
        raise Http404("Rule not found")
    return rule


@login_required
@require_POST
def schedule_rule_state(request: HttpRequest, name: str, rule: str) -> HttpResponse:
    function = owned_function(request, name)
    target = _owned_rule(function, rule)
    form = RuleStateForm(request.POST)
    if form.is_valid():
        enabled = form.cleaned_data["state"] == "enable"
        schedule_rule_update(target, enabled=enabled)
        messages.success(request, f"The trigger {target.name} was successfully {'enabled' if enabled else 'disabled'}.")
    return redirect(_config_url(function, "triggers"))


@login_required
@require_POST
def schedule_rule_delete_view(request: HttpRequest, name: str, rule: str) -> HttpResponse:
    function = owned_function(request, name)
    target = _owned_rule(function, rule)
    schedule_rule_delete(target)
    messages.success(request, f"The trigger {rule} was successfully deleted from function {function.name}.")
    return redirect(_config_url(function, "triggers"))


@login_required
@require_POST
def http_route_delete_view(request: HttpRequest, name: str, api_id: str, route_id: str) -> HttpResponse:
    """Removes the API Gateway trigger: the route integrated with this function."""
    function = owned_function(request, name)
    try:
        route = http_route_get(http_api_get(account_of(request), api_id), route_id)
    except LambdaError:
        raise Http404("Route not found")
    if route.function_id != function.pk:
        raise Http404("Route not found")
    http_route_delete(route)
    messages.success(request, f"The trigger {route.api.name} ({route.route_key}) was successfully deleted "
                              f"from function {function.name}.")
    return redirect(_config_url(function, "triggers"))


@login_required
@require_POST
def s3_trigger_delete_view(request: HttpRequest, name: str, bucket: str) -> HttpResponse:
    """Removes the S3 trigger: the bucket's configuration (by its Id) that invokes this function."""
    function = owned_function(request, name)
    target = Bucket.objects.filter(account=account_of(request), name=bucket).first()
    config_id = request.POST.get("config_id", "")
    rule = next((r for r in notification_rules(target) if r.id == config_id), None) if target else None
    if rule is None or not (rule.arn == function.arn or rule.arn.startswith(function.arn + ":")):
        raise Http404("Trigger not found")
    lambda_configuration_remove(target, config_id)
    messages.success(request, f"The trigger {bucket} was successfully deleted from function {function.name}.")
    return redirect(_config_url(function, "triggers"))


# --- Destinations and asynchronous invocation ---------------------------------------------------

def _current_async(function: Function) -> EventInvokeConfig | None:
    return EventInvokeConfig.objects.filter(function=function, qualifier="$LATEST").first()


@login_required
def destination_add(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = DestinationForm(request.POST or None, functions=_other_functions(request, function),
                           initial={"condition": "OnFailure", "destination_type": "lambda"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        key = "on_success" if data["condition"] == "OnSuccess" else "on_failure"
        current = _current_async(function)
        try:
            event_invoke_config_put(function, "$LATEST", merge=current is not None, **{key: data["destination"]})
        except LambdaError as exc:
            add_mapped_error(form, exc, {"DestinationConfig.OnSuccess": "destination",
                                         "DestinationConfig.OnFailure": "destination"})
        else:
            messages.success(request, f"The destination was successfully added to function {function.name}.")
            return redirect("function", name=function.name)
    return render(request, "console/function/destination_add.html", {"function": function, "form": form},
                  status=400 if form.errors else 200)


@login_required
def async_config_edit(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    current = _current_async(function)
    initial = {"maximum_event_age": DEFAULT_MAX_AGE, "maximum_retry_attempts": DEFAULT_RETRIES}
    if current is not None:
        initial = {"maximum_event_age": current.maximum_event_age,
                   "maximum_retry_attempts": current.maximum_retry_attempts,
                   "on_success": current.on_success, "on_failure": current.on_failure}
    form = AsyncConfigForm(request.POST or None, functions=_other_functions(request, function), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event_invoke_config_put(function, "$LATEST", **form.cleaned_data)
        except LambdaError as exc:
            add_mapped_error(form, exc, AsyncConfigForm.SERVICE_FIELDS)
        else:
            messages.success(request, f"Successfully updated the asynchronous invocation configuration of "
                                      f"{function.name}.")
            return redirect(_config_url(function, "async"))
    return render(request, "console/function/async_edit.html", {"function": function, "form": form},
                  status=400 if form.errors else 200)


# --- Function URL ---------------------------------------------------------------------------

@login_required
def function_url_edit(request: HttpRequest, name: str) -> HttpResponse:
    """"Create function URL", or "Edit" an existing one."""
    function = owned_function(request, name)
    config = FunctionUrlConfig.objects.filter(function=function, qualifier="").first()
    form = FunctionUrlForm(request.POST or None,
                           initial=FunctionUrlForm.initial_for(config) if config else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if config is None:
                function_url_create(account_of(request), function, auth_type=data["auth_type"],
                                    cors=form.cors_config())
            else:
                function_url_update(config, auth_type=data["auth_type"], cors=form.cors_config())
        except LambdaError as exc:
            add_mapped_error(form, exc, {"AuthType": "auth_type", "Cors": "allow_origins"})
        else:
            messages.success(request, f"Successfully {'created' if config is None else 'updated'} the function URL "
                                      f"of {function.name}.")
            return redirect(_config_url(function, "function-url"))
    return render(request, "console/function/function_url_edit.html",
                  {"function": function, "form": form, "config": config}, status=400 if form.errors else 200)


@login_required
@require_POST
def function_url_delete_view(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    config = FunctionUrlConfig.objects.filter(function=function, qualifier="").first()
    if config is None:
        raise Http404("No function URL")
    function_url_delete(config)
    messages.success(request, f"Successfully deleted the function URL of {function.name}.")
    return redirect(_config_url(function, "function-url"))


# --- HTTP APIs of the account ---------------------------------------------------------------

@login_required
def http_apis_page(request: HttpRequest) -> HttpResponse:
    apis = http_apis_list(account_of(request))
    for api in apis:
        api.route_list = list(api.routes.select_related("function"))
    return render(request, "console/http_apis.html", {"apis": apis})


@login_required
@require_POST
def http_api_delete_view(request: HttpRequest, api_id: str) -> HttpResponse:
    try:
        api = http_api_get(account_of(request), api_id)
    except LambdaError:
        raise Http404("API not found")
    http_api_delete(api)
    messages.success(request, f"Successfully deleted the API {api.name}.")
    return redirect("http-apis")


@login_required
@require_POST
def http_api_route_delete_view(request: HttpRequest, api_id: str, route_id: str) -> HttpResponse:
    try:
        route = http_route_get(http_api_get(account_of(request), api_id), route_id)
    except LambdaError:
        raise Http404("Route not found")
    http_route_delete(route)
    messages.success(request, f"Successfully deleted the route {route.route_key}.")
    return redirect("http-apis")
